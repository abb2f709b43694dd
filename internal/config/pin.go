package config

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker-cghistory/docker-cghistory/internal/policy"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PinFlags are cgpin's flags as given; a key of the policy file fills the
// field of its flag when that flag was not given.
type PinFlags struct {
	Update         bool
	At             string
	Cooldown       string
	CooldownStrict bool
	Check          bool
	DryRun         bool
	Platform       string
	Exclude        []string
	Kinds          []string
	Format         string
	Quiet          bool
	Explain        bool
	Jobs           int
	OnlyIfChanged  string
	Fixes          []string
	Ignore         []string
	ShowConfig     bool
	SkipUnknown    bool
	Outdated       bool
	StaleAfter     string
	ExitCode       bool
	MaxAge         string
	MaxBehind      int
	// Bump is --bump: a level ("minor") for every image, or GLOB=LEVEL
	// for the images a glob matches (repeatable; the last match wins).
	Bump     []string
	Verify   Verify
	Registry RegistryFlags
}

// Pin is cgpin's configuration, resolved and checked.
type Pin struct {
	Paths          []string
	Update         bool      // implied by At, OnlyIfChanged and Fixes
	At             time.Time // zero: now
	Cooldown       time.Duration
	CooldownStrict bool
	Check          bool
	DryRun         bool
	Platform       *v1.Platform
	Exclude        []string
	Kinds          []ref.FileKind
	KindGlobs      []pin.Override // --kind KIND=GLOB, then .cgpin.yaml's files:
	Format         string
	Quiet          bool
	Explain        bool
	Jobs           int
	OnlyIfChanged  string
	Fixes          []string
	Ignore         []string
	// Bump says how far each reference's version tag may move (--bump).
	Bump        pin.BumpRules
	SkipUnknown bool
	// Outdated, with StaleAfter, MaxAge, MaxBehind and ExitCode.
	Outdated   bool
	StaleAfter time.Duration
	MaxAge     time.Duration
	MaxBehind  int
	ExitCode   bool
	Verify     Verify
	Common     Common
	Now        func() time.Time
	// ShowConfig asks for Policy only: the policy's values, as written and
	// unchecked, and where each came from.
	ShowConfig bool
	Policy     []Value
}

// Value is one setting of the effective policy and where it came from: a
// flag ("--cooldown"), the policy file ("/repo/.cgpin.yaml:3") or "default".
type Value struct {
	Key, Value, Source string
}

// layers is cgpin's flags with the policy file applied.
type layers struct {
	PinFlags
	policyMirrors []string
	policyFiles   []string // files: as KIND=GLOB
}

// binding ties a policy file key to its flag and field.
type binding struct {
	key, flag string
	get       func(*layers) string
	set       func(l *layers, values []string, root string)
}

func str(key string, field func(*layers) *string) binding {
	return binding{key: key, flag: key, get: func(l *layers) string { return *field(l) },
		set: func(l *layers, v []string, _ string) { *field(l) = v[0] }}
}

func boolean(key string, field func(*layers) *bool) binding {
	return binding{key: key, flag: key, get: func(l *layers) string { return strconv.FormatBool(*field(l)) },
		set: func(l *layers, v []string, _ string) { *field(l), _ = strconv.ParseBool(v[0]) }}
}

func integer(key string, field func(*layers) *int) binding {
	return binding{key: key, flag: key, get: func(l *layers) string { return strconv.Itoa(*field(l)) },
		set: func(l *layers, v []string, _ string) { *field(l), _ = strconv.Atoi(v[0]) }}
}

func list(key, flag string, field func(*layers) *[]string) binding {
	return binding{key: key, flag: flag, get: func(l *layers) string { return strings.Join(*field(l), ", ") },
		set: func(l *layers, v []string, _ string) { *field(l) = v }}
}

// file is a path: relative to the policy file (policy.LoadFile resolved
// it) and held inside its repository.
func file(key string, field func(*layers) (*string, *string)) binding {
	return binding{key: key, flag: key, get: func(l *layers) string { p, _ := field(l); return *p },
		set: func(l *layers, v []string, root string) { p, in := field(l); *p, *in = v[0], root }}
}

// bindings are the policy file's keys (policy.Keys), sorted, as
// --show-config lists them. A new key is a row here and a field above.
var bindings = []binding{
	list("bump", "bump", func(l *layers) *[]string { return &l.Bump }),
	str("certificate-identity", func(l *layers) *string { return &l.Verify.Identity }),
	str("certificate-identity-regexp", func(l *layers) *string { return &l.Verify.IdentityRegexp }),
	str("certificate-oidc-issuer", func(l *layers) *string { return &l.Verify.Issuer }),
	str("certificate-oidc-issuer-regexp", func(l *layers) *string { return &l.Verify.IssuerRegexp }),
	str("cooldown", func(l *layers) *string { return &l.Cooldown }),
	boolean("cooldown-strict", func(l *layers) *bool { return &l.CooldownStrict }),
	list("exclude", "exclude", func(l *layers) *[]string { return &l.Exclude }),
	// files: maps globs to kinds; --kind KIND=GLOB, given first, wins.
	list("files", "files", func(l *layers) *[]string { return &l.policyFiles }),
	list("ignore-images", "ignore-image", func(l *layers) *[]string { return &l.Ignore }),
	integer("jobs", func(l *layers) *int { return &l.Jobs }),
	file("key", func(l *layers) (*string, *string) { return &l.Verify.Key, &l.Verify.KeyIn }),
	list("kinds", "kind", func(l *layers) *[]string { return &l.Kinds }),
	str("max-age", func(l *layers) *string { return &l.MaxAge }),
	integer("max-behind", func(l *layers) *int { return &l.MaxBehind }),
	str("only-if-changed", func(l *layers) *string { return &l.OnlyIfChanged }),
	str("platform", func(l *layers) *string { return &l.Platform }),
	// The registry map merges: --registry-map wins per mirror prefix.
	{key: "registry-map", flag: "registry-map",
		get: func(l *layers) string { return strings.Join(slices.Concat(l.policyMirrors, l.Registry.Mirrors), ", ") },
		set: func(l *layers, v []string, _ string) { l.policyMirrors = v }},
	str("stale-after", func(l *layers) *string { return &l.StaleAfter }),
	file("trusted-root", func(l *layers) (*string, *string) { return &l.Verify.TrustedRoot, &l.Verify.TrustedRootIn }),
	boolean("update", func(l *layers) *bool { return &l.Update }),
	boolean("verify", func(l *layers) *bool { return &l.Verify.Enabled }),
}

// ResolvePin layers cgpin's flags (given says which were on the command
// line) over the .cgpin.yaml found from paths, config.json, the environment
// and the defaults, and checks the result. Flags win, except that the
// registry map merges per prefix.
func ResolvePin(paths []string, flags PinFlags, given func(flag string) bool, env Env) (*Pin, error) {
	if given == nil {
		given = func(string) bool { return false }
	}
	l := &layers{PinFlags: flags}
	safe := policy.ParseSafeDirectories(env.setting(policy.SafeDirectoryEnv, "safe-directory"))
	sources, mirrorsSource, err := l.applyPolicyFile(paths, given, safe)
	if err != nil {
		return nil, err
	}
	cfg := &Pin{Paths: paths, ShowConfig: l.ShowConfig, Now: env.now}
	for _, b := range bindings {
		src := "default"
		switch {
		case given(b.flag):
			src = "--" + b.flag
		case sources[b.key] != "":
			src = sources[b.key]
		}
		cfg.Policy = append(cfg.Policy, Value{Key: b.key, Value: b.get(l), Source: src})
	}
	if cfg.ShowConfig {
		return cfg, nil
	}
	if cfg.Common, err = resolveCommon(l.Registry, env, l.policyMirrors, mirrorsSource); err != nil {
		return nil, err
	}
	if err := cfg.check(l.PinFlags); err != nil {
		return cfg, err
	}
	for _, kv := range l.policyFiles { // checked when the policy file was read
		k, glob, _ := strings.Cut(kv, "=")
		o, err := pin.NewOverride(k, glob)
		if err != nil {
			return cfg, err
		}
		cfg.KindGlobs = append(cfg.KindGlobs, o)
	}
	return cfg, nil
}

// applyPolicyFile reads .cgpin.yaml (found from the paths up to the
// repository root) into the fields whose flags were not given, and says
// where each came from. safe comes from the environment or config.json,
// never from a policy file.
func (l *layers) applyPolicyFile(paths []string, given func(string) bool, safe policy.SafeDirectories) (sources map[string]string, mirrors string, err error) {
	sources = map[string]string{}
	p, err := policy.FindFile(paths)
	if err != nil || p == "" {
		return sources, "", err
	}
	f, err := policy.LoadFile(p, safe)
	if err != nil {
		return nil, "", err
	}
	for _, b := range bindings {
		s, ok := f.Settings[b.key]
		if !ok || (given(b.flag) && b.key != "registry-map") {
			continue
		}
		b.set(l, s.Values, f.Root)
		sources[b.key] = fmt.Sprintf("%s:%d", p, s.Line)
	}
	return sources, sources["registry-map"], nil
}

// check turns the layered flags into typed values, as the flags' errors
// name them.
func (cfg *Pin) check(f PinFlags) error {
	cfg.Update, cfg.CooldownStrict, cfg.Check, cfg.DryRun = f.Update, f.CooldownStrict, f.Check, f.DryRun
	cfg.Exclude, cfg.Format, cfg.Quiet, cfg.Explain, cfg.Jobs = f.Exclude, f.Format, f.Quiet, f.Explain, f.Jobs
	cfg.OnlyIfChanged, cfg.Fixes, cfg.Ignore, cfg.SkipUnknown = f.OnlyIfChanged, f.Fixes, f.Ignore, f.SkipUnknown
	cfg.Outdated, cfg.ExitCode, cfg.MaxBehind, cfg.Verify = f.Outdated, f.ExitCode, f.MaxBehind, f.Verify
	var err error
	if f.At != "" {
		if cfg.At, err = history.ParseTime(f.At, cfg.Now()); err != nil {
			return fmt.Errorf("--at: %w", err)
		}
		cfg.Update = true // rolling back moves existing pins
	}
	if f.Cooldown != "" {
		if cfg.Cooldown, err = history.ParseDuration(f.Cooldown); err != nil {
			return fmt.Errorf("--cooldown: %w", err)
		}
	}
	if cfg.Platform, err = ParsePlatform(f.Platform); err != nil {
		return err
	}
	switch f.OnlyIfChanged {
	case "", policy.ChangedPackages, policy.ChangedVulns:
	default:
		return fmt.Errorf("--only-if-changed=%s: want packages or vulns", f.OnlyIfChanged)
	}
	for _, id := range f.Fixes {
		if !strings.HasPrefix(id, "CVE-") && !strings.HasPrefix(id, "GHSA-") {
			return fmt.Errorf("--fixes %q: want a CVE or GHSA identifier, e.g. CVE-2024-0001", id)
		}
	}
	for _, g := range f.Ignore {
		if _, err := path.Match(strings.TrimPrefix(g, "!"), ""); err != nil {
			return fmt.Errorf("--ignore-image %q: %w", g, err)
		}
	}
	if cfg.Bump, err = pin.ParseBumpRules(f.Bump); err != nil {
		return fmt.Errorf("--bump: %w", err)
	}
	if len(cfg.Bump) > 0 && len(f.Fixes) > 0 {
		return errors.New("--fixes moves pins within their tag's history: it does not go with --bump")
	}
	if f.OnlyIfChanged != "" || len(f.Fixes) > 0 {
		cfg.Update = true // these are update policies
	}
	if len(f.Fixes) > 0 && (f.OnlyIfChanged != "" || f.At != "") {
		return errors.New("--fixes chooses the build itself: it does not go with --only-if-changed or --at")
	}
	if f.Jobs < 1 {
		return errors.New("--jobs must be at least 1")
	}
	if cfg.Kinds, err = pin.ParseKinds(f.Kinds); err != nil {
		return err
	}
	if cfg.KindGlobs, err = pin.ParseOverrides(f.Kinds); err != nil {
		return err
	}
	if !f.Outdated {
		return nil // read only by --outdated, as before
	}
	if cfg.StaleAfter, err = history.ParseDuration(f.StaleAfter); err != nil {
		return fmt.Errorf("--stale-after: %w", err)
	}
	if f.MaxAge != "" {
		if cfg.MaxAge, err = history.ParseDuration(f.MaxAge); err != nil {
			return fmt.Errorf("--max-age: %w", err)
		}
	}
	return nil
}

// NeedsChooser says whether an update policy judges the moves.
func (cfg *Pin) NeedsChooser() bool {
	return cfg.Update && (cfg.OnlyIfChanged != "" || len(cfg.Fixes) > 0 || (cfg.Cooldown > 0 && !cfg.CooldownStrict && cfg.At.IsZero()))
}
