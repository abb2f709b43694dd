package config

import (
	"fmt"
	"slices"

	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
)

// DiffFlags are cgdiff's flags as given.
type DiffFlags struct {
	Platform string
	Source   string
	Types    []string
	Vulns    string
	SecDB    string
	Format   string
	ExitCode bool
	ExitOn   []string
	Verify   Verify
	Registry RegistryFlags
}

// Diff is cgdiff's configuration, resolved and checked.
type Diff struct {
	From, To string
	Options  imagediff.Options
	Format   string
	ExitCode bool
	ExitOn   []string
	Verify   Verify
	Common   Common
}

// UsageError is a flag value that makes no sense (docker exits 125 for
// them); other errors of a resolution come from the settings beneath.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// ResolveDiff checks cgdiff's flags (a UsageError) and layers them over
// config.json and the environment.
func ResolveDiff(from, to string, flags DiffFlags, env Env) (*Diff, error) {
	for _, k := range flags.ExitOn {
		if !slices.Contains([]string{"package", "vulnerability", "config"}, k) {
			return nil, UsageError{fmt.Errorf("--exit-on %q: want package, vulnerability or config", k)}
		}
	}
	if !slices.Contains([]string{"secdb", "grype", "none"}, flags.Vulns) {
		return nil, UsageError{fmt.Errorf("--vulns %q: want secdb, grype or none", flags.Vulns)}
	}
	if !slices.Contains([]string{inventory.SourceAuto, inventory.SourceSBOM, inventory.SourceLayers}, flags.Source) {
		return nil, UsageError{fmt.Errorf("--source %q: want auto, sbom or layers", flags.Source)}
	}
	p, err := ParsePlatform(flags.Platform)
	if err != nil {
		return nil, UsageError{err}
	}
	cfg := &Diff{From: from, To: to, Format: flags.Format, ExitCode: flags.ExitCode, ExitOn: flags.ExitOn, Verify: flags.Verify}
	if cfg.Common, err = ResolveCommon(flags.Registry, env); err != nil {
		return nil, err
	}
	cfg.Options = cfg.Common.Summary(p)
	cfg.Options.PlatformSet = p != nil
	cfg.Options.Source, cfg.Options.Types, cfg.Options.Vulns, cfg.Options.Grype = flags.Source, flags.Types, flags.Vulns, vuln.Grype
	if flags.SecDB != "" {
		cfg.Options.SecDBURL = flags.SecDB
	}
	return cfg, nil
}
