// Package commands holds the cobra commands of docker-cghistory. Each
// command only binds flags and hands an options struct to its run function;
// the work happens in internal/ libraries, which know nothing of cobra.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/debug"
	"github.com/google/go-containerregistry/pkg/name"
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
	PinName:     "Pin image references in Dockerfiles, Compose, Kubernetes and CI files to digests",
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
type registryOptions = config.RegistryFlags

func addRegistryFlags(flags *pflag.FlagSet, opts *registryOptions) {
	flags.DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "Give up after this long (e.g. 30s, 5m; 0 for no limit)")
	flags.BoolVar(&opts.Insecure, "insecure", false, "Allow plain HTTP to any registry (loopback registries always may use it)")
	flags.BoolVar(&opts.Debug, "debug", false, "Log every registry request (credentials redacted) to stderr")
	flags.StringArrayVar(&opts.Mirrors, "registry-map", nil, `Read MIRROR_PREFIX as a pull-through cache of UPSTREAM_PREFIX, "MIRROR=UPSTREAM" (repeatable; also plugins.cghistory.registry-map in config.json)`)
}

// deps is what a run talks through, built once from the docker CLI and the
// run's configuration: its config file (credentials), the one disk cache,
// the one registry client, how references are read, and the terminal.
type deps struct {
	client  *registry.Client
	mirrors ref.MirrorMap
	cache   *cache.Cache
	refs    ref.Options
	common  config.Common
	term    output.Terminal
	errOut  io.Writer
}

// newDeps resolves the registry flags over config.json and the environment
// and builds the run's dependencies.
func newDeps(dockerCLI command.Cli, opts registryOptions) (*deps, error) {
	c, err := config.ResolveCommon(opts, config.Env{Docker: dockerCLI.ConfigFile()})
	if err != nil {
		return nil, err
	}
	return depsFor(dockerCLI, c)
}

// depsFor builds a run's dependencies from its resolved configuration, with
// docker's credentials, so `docker login` and credential helpers just work.
func depsFor(dockerCLI command.Cli, cfg config.Common) (*deps, error) {
	c, err := cache.Open(cache.DefaultDir(), cfg.CacheMax)
	if err != nil {
		return nil, err
	}
	// The registry's log and warnings can carry a registry's or a
	// credential helper's text: escaped line by line.
	var dbg io.Writer
	if cfg.Debug || debug.IsEnabled() {
		dbg = output.EscapeLines(dockerCLI.Err())
	}
	client := registry.New(registry.Options{
		Credentials: registry.Keychain{Config: dockerCLI.ConfigFile()},
		Cache:       c,
		UserAgent:   "docker-cghistory/" + Version,
		Debug:       dbg,
		Insecure:    cfg.Insecure,
		Warn:        output.EscapeLines(dockerCLI.Err()),
	})
	return &deps{
		client: client, cache: c, errOut: dockerCLI.Err(), mirrors: cfg.Mirrors, refs: cfg.Refs(), common: cfg,
		term: output.NewTerminal(dockerCLI.Out(), dockerCLI.Err()),
	}, nil
}

// upstream is the tag a mirror's tag mirrors, or the tag itself.
func (d *deps) upstream(tag name.Tag) (name.Tag, bool) {
	up, ok := d.mirrors.Upstream(tag.Context())
	if !ok {
		return tag, false
	}
	return up.Tag(tag.TagStr()), true
}

// history is the tag history client.
func (d *deps) history() *history.Client { return &history.Client{Registry: d.client, Cache: d.cache} }

// differ is the diff engine; progress (may be nil) hears downloads.
func (d *deps) differ(progress *output.Progress) *imagediff.Differ {
	return &imagediff.Differ{
		Registry:  d.client,
		History:   d.history(),
		Inventory: &inventory.Fetcher{Registry: d.client, Cache: d.cache, Progress: progress.Printf, Mirrors: d.mirrors},
		SecDB:     &vuln.Loader{HTTP: d.client.HTTP(), Cache: d.cache},
		Refs:      d.refs,
		Mirrors:   d.mirrors,
	}
}

// summary is the diff options behind --changes and --explain.
func (d *deps) summary(platform *v1.Platform) imagediff.Options { return d.common.Summary(platform) }

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
