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
	"runtime"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
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
type registryOptions struct {
	timeout  time.Duration
	insecure bool
	debug    bool
	mirrors  []string // --registry-map MIRROR=UPSTREAM
	// policyMirrors are .cgpin.yaml's registry-map (cgpin only).
	policyMirrors       []string
	policyMirrorsSource string
}

func addRegistryFlags(flags *pflag.FlagSet, opts *registryOptions) {
	flags.DurationVar(&opts.timeout, "timeout", 2*time.Minute, "Give up after this long (e.g. 30s, 5m; 0 for no limit)")
	flags.BoolVar(&opts.insecure, "insecure", false, "Allow plain HTTP to any registry (loopback registries always may use it)")
	flags.BoolVar(&opts.debug, "debug", false, "Log every registry request (credentials redacted) to stderr")
	flags.StringArrayVar(&opts.mirrors, "registry-map", nil, `Read MIRROR_PREFIX as a pull-through cache of UPSTREAM_PREFIX, "MIRROR=UPSTREAM" (repeatable; also plugins.cghistory.registry-map in config.json)`)
}

// deps is what a run talks through, built once from the docker CLI: its
// config file (credentials, plugin settings), the one disk cache, the one
// registry client, how references are read, and the terminal.
type deps struct {
	client  *registry.Client
	mirrors ref.MirrorMap
	cache   *cache.Cache
	refs    ref.Options
	term    output.Terminal
	errOut  io.Writer
}

// newDeps builds a run's dependencies, so `docker login` and credential
// helpers just work.
func newDeps(dockerCLI command.Cli, opts registryOptions) (*deps, error) {
	c, err := newCache(dockerCLI)
	if err != nil {
		return nil, err
	}
	var dbg io.Writer
	if opts.debug || debug.IsEnabled() {
		dbg = dockerCLI.Err()
	}
	client := registry.New(registry.Options{
		Credentials: registry.Keychain{Config: dockerCLI.ConfigFile()},
		Cache:       c,
		UserAgent:   "docker-cghistory/" + Version,
		Debug:       dbg,
		Insecure:    opts.insecure,
		Warn:        dockerCLI.Err(),
	})
	mirrors, err := mirrorMap(dockerCLI, opts)
	if err != nil {
		return nil, err
	}
	return &deps{
		client: client, cache: c, errOut: dockerCLI.Err(), mirrors: mirrors,
		refs: ref.Options{Namespace: pluginSetting(dockerCLI, "CGHISTORY_NAMESPACE", "namespace"), Insecure: opts.insecure},
		term: output.NewTerminal(dockerCLI.Out(), dockerCLI.Err()),
	}, nil
}

// mirrorMap is the registry map: config.json's plugins.cghistory.registry-map
// (comma-separated, as docker keeps plugin settings), then .cgpin.yaml's,
// then --registry-map; for the same mirror prefix the later one wins.
func mirrorMap(dockerCLI command.Cli, opts registryOptions) (ref.MirrorMap, error) {
	var m ref.MirrorMap
	if v, ok := dockerCLI.ConfigFile().PluginConfig(HistoryName, "registry-map"); ok && v != "" {
		if err := m.Add("config.json plugins.cghistory.registry-map", strings.Split(v, ",")); err != nil {
			return m, err
		}
	}
	if err := m.Add(opts.policyMirrorsSource, opts.policyMirrors); err != nil {
		return m, err
	}
	return m, m.Add("--registry-map", opts.mirrors)
}

// upstream is the tag a mirror's tag mirrors, or the tag itself.
func (d *deps) upstream(tag name.Tag) (name.Tag, bool) {
	up, ok := d.mirrors.Upstream(tag.Context())
	if !ok {
		return tag, false
	}
	return up.Tag(tag.TagStr()), true
}

// newCache opens the disk cache: $CGHISTORY_CACHE_DIR (else the user cache
// directory), bounded by $CGHISTORY_CACHE_MAX or config.json's
// plugins.cghistory.cache-max (default cache.DefaultMaxBytes). A directory
// the cache refuses to use is an error naming it.
func newCache(dockerCLI command.Cli) (*cache.Cache, error) {
	limit := int64(0)
	if s := pluginSetting(dockerCLI, "CGHISTORY_CACHE_MAX", "cache-max"); s != "" {
		n, err := cache.ParseSize(s)
		if err != nil {
			return nil, fmt.Errorf("cache size bound (CGHISTORY_CACHE_MAX or plugins.cghistory.cache-max): %w", err)
		}
		limit = n
	}
	return cache.Open(cache.DefaultDir(), limit)
}

// pluginSetting reads a setting from the environment, else from
// config.json's plugins.cghistory section.
func pluginSetting(dockerCLI command.Cli, env, key string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	v, _ := dockerCLI.ConfigFile().PluginConfig(HistoryName, key)
	return v
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

// summaryOptions are the diff options behind --changes and --explain: the
// chosen (or this machine's) platform, secdb vulnerabilities.
func summaryOptions(platform *v1.Platform) imagediff.Options {
	o := imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, Source: inventory.SourceAuto,
		Vulns: "secdb", SecDBURL: os.Getenv("CGHISTORY_SECDB")}
	if platform != nil {
		o.Platform, o.PlatformSet = *platform, true
	}
	return o
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

// parsePlatform reads a --platform value, "os/arch[/variant]"; "" is nil.
func parsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return nil, fmt.Errorf("--platform %q: want os/arch[/variant], e.g. linux/amd64", s)
	}
	return p, nil
}
