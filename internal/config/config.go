// Package config resolves a run's settings once, from their layers: the
// command line, the repository's .cgpin.yaml (cgpin only), config.json's
// plugins.cghistory section, the environment and the defaults. Commands bind
// their flags to its Flags types and hand the resolved, typed value to their
// run function; it knows nothing of cobra.
package config

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PluginName is the section of config.json's "plugins" the plugin reads.
const PluginName = "cghistory"

// PluginSettings is where docker keeps plugin settings: config.json's
// "plugins" section (docker/cli's configfile.ConfigFile has this method).
type PluginSettings interface {
	PluginConfig(pluginname, option string) (string, bool)
}

// Env is what lies beneath the command line: docker's plugin settings, the
// environment and the clock. Zero fields mean none, os.Getenv and time.Now.
type Env struct {
	Docker PluginSettings
	Getenv func(string) string
	Now    func() time.Time
}

func (e Env) getenv(key string) string {
	if e.Getenv == nil {
		return os.Getenv(key)
	}
	return e.Getenv(key)
}

func (e Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e Env) plugin(key string) string {
	if e.Docker == nil {
		return ""
	}
	v, _ := e.Docker.PluginConfig(PluginName, key)
	return v
}

// setting reads a setting from the environment, else from config.json's
// plugins.cghistory section.
func (e Env) setting(env, key string) string {
	if v := e.getenv(env); v != "" {
		return v
	}
	return e.plugin(key)
}

// RegistryFlags are the flags of every command that talks to registries.
type RegistryFlags struct {
	Timeout  time.Duration
	Insecure bool
	Debug    bool
	Mirrors  []string // --registry-map MIRROR=UPSTREAM
}

// Common is what every run shares, resolved: the registry flags, the
// registry map, and the settings docker keeps for the plugin.
type Common struct {
	Timeout  time.Duration
	Insecure bool
	Debug    bool
	// Mirrors: config.json's plugins.cghistory.registry-map (comma-separated,
	// as docker keeps plugin settings), then .cgpin.yaml's, then
	// --registry-map; for the same mirror prefix the later one wins.
	Mirrors ref.MirrorMap
	// Namespace expands bare names: CGHISTORY_NAMESPACE, else
	// plugins.cghistory.namespace ("" for ref's default).
	Namespace string
	// CacheMax bounds the disk cache: CGHISTORY_CACHE_MAX, else
	// plugins.cghistory.cache-max (0 for cache.DefaultMaxBytes).
	CacheMax int64
	// SecDB is CGHISTORY_SECDB, the security database URL ("" by distro).
	SecDB string
}

// resolveCommon layers the registry flags over the policy file's registry
// map (policyMirrors, from policySource), config.json and the environment.
func resolveCommon(flags RegistryFlags, env Env, policyMirrors []string, policySource string) (Common, error) {
	c := Common{Timeout: flags.Timeout, Insecure: flags.Insecure, Debug: flags.Debug,
		Namespace: env.setting("CGHISTORY_NAMESPACE", "namespace"), SecDB: env.getenv("CGHISTORY_SECDB")}
	if s := env.setting("CGHISTORY_CACHE_MAX", "cache-max"); s != "" {
		n, err := cache.ParseSize(s)
		if err != nil {
			return c, fmt.Errorf("cache size bound (CGHISTORY_CACHE_MAX or plugins.cghistory.cache-max): %w", err)
		}
		c.CacheMax = n
	}
	if v := env.plugin("registry-map"); v != "" {
		if err := c.Mirrors.Add("config.json plugins.cghistory.registry-map", strings.Split(v, ",")); err != nil {
			return c, err
		}
	}
	if err := c.Mirrors.Add(policySource, policyMirrors); err != nil {
		return c, err
	}
	return c, c.Mirrors.Add("--registry-map", flags.Mirrors)
}

// ResolveCommon resolves the settings of a command without a policy file.
func ResolveCommon(flags RegistryFlags, env Env) (Common, error) {
	return resolveCommon(flags, env, nil, "")
}

// Refs is how the run reads image names.
func (c Common) Refs() ref.Options { return ref.Options{Namespace: c.Namespace, Insecure: c.Insecure} }

// Summary is the diff options behind --changes and --explain: the chosen
// (or this machine's) platform, secdb vulnerabilities.
func (c Common) Summary(platform *v1.Platform) imagediff.Options {
	o := imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, Source: inventory.SourceAuto,
		Vulns: "secdb", SecDBURL: c.SecDB}
	if platform != nil {
		o.Platform, o.PlatformSet = *platform, true
	}
	return o
}

// Verify is the signature policy, named as cosign names its flags.
type Verify struct {
	Enabled        bool // --verify
	Identity       string
	IdentityRegexp string
	Issuer         string
	IssuerRegexp   string
	TrustedRoot    string
	Key            string
	// TrustedRootIn and KeyIn are the repository that a policy file's
	// trusted-root and key stay inside; "" for the flags, which name any
	// file the user wants.
	TrustedRootIn, KeyIn string
}

// ParsePlatform reads a --platform value, "os/arch[/variant]"; "" is nil.
func ParsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return nil, fmt.Errorf("--platform %q: want os/arch[/variant], e.g. linux/amd64", s)
	}
	return p, nil
}
