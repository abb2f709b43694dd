// Package commands holds the cobra commands of docker-cghistory. Each
// command only binds flags and hands an options struct to its run function;
// the work happens in internal/ libraries, which know nothing of cobra.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/debug"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Version is the plugin's version, set by main.
var Version = "dev"

// Names of the three docker commands this binary provides.
const (
	HistoryName = "cghistory"
	DiffName    = "cgdiff"
	PinName     = "cgpin"
)

// ShortDescriptions are the one-line summaries docker shows in `docker --help`.
var ShortDescriptions = map[string]string{
	HistoryName: "Show every build a Chainguard image tag pointed to",
	DiffName:    "Compare the packages and CVEs of two image builds",
	PinName:     "Pin image references in Dockerfiles to digests",
}

// New returns the top-level command for name (cghistory, cgdiff or cgpin).
func New(name string, dockerCLI command.Cli) *cobra.Command {
	switch name {
	case DiffName:
		return newDiffCommand(dockerCLI)
	case PinName:
		return newPinCommand(dockerCLI)
	default:
		return newHistoryCommand(dockerCLI)
	}
}

// registryOptions are the flags every command that talks to registries has.
type registryOptions struct {
	timeout  time.Duration
	insecure bool
	debug    bool
}

func addRegistryFlags(flags *pflag.FlagSet, opts *registryOptions) {
	flags.DurationVar(&opts.timeout, "timeout", 2*time.Minute, "Give up after this long (e.g. 30s, 5m; 0 for no limit)")
	flags.BoolVar(&opts.insecure, "insecure", false, "Allow plain HTTP to any registry (loopback registries always may use it)")
	flags.BoolVar(&opts.debug, "debug", false, "Log every registry request (credentials redacted) to stderr")
}

// newRegistryClient builds the run's registry client from the docker CLI's
// config file, so `docker login` and credential helpers just work.
func newRegistryClient(dockerCLI command.Cli, opts registryOptions) *registry.Client {
	var dbg io.Writer
	if opts.debug || debug.IsEnabled() {
		dbg = dockerCLI.Err()
	}
	return registry.New(registry.Options{
		Credentials: registry.Keychain{Config: dockerCLI.ConfigFile()},
		Cache:       registry.DiskCache{Dir: registry.DefaultCacheDir()},
		UserAgent:   "docker-cghistory/" + Version,
		Debug:       dbg,
		Insecure:    opts.insecure,
		Warn:        dockerCLI.Err(),
	})
}

// namespace is where bare image names live: $CGHISTORY_NAMESPACE, else
// config.json's plugins.cghistory.namespace, else cgr.dev/chainguard.
func namespace(dockerCLI command.Cli) string {
	if ns := os.Getenv("CGHISTORY_NAMESPACE"); ns != "" {
		return ns
	}
	if ns, ok := dockerCLI.ConfigFile().PluginConfig(HistoryName, "namespace"); ok && ns != "" {
		return ns
	}
	return registry.DefaultNamespace
}

// withTimeout applies --timeout and turns its expiry into a clear error.
func withTimeout(ctx context.Context, d time.Duration, run func(context.Context) error) error {
	if d <= 0 {
		return run(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := run(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s (raise it with --timeout): %w", d, err)
	}
	return err
}

// parsePlatform reads a --platform value, "os/arch[/variant]".
func parsePlatform(s string) (*v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return nil, fmt.Errorf("--platform %q: want os/arch[/variant], e.g. linux/amd64", s)
	}
	return p, nil
}
