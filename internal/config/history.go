package config

import (
	"fmt"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
)

// HistoryFlags are cghistory's flags as given.
type HistoryFlags struct {
	Format    string
	Quiet     bool
	NoTrunc   bool
	Last      int
	Since     string
	Until     string
	Platforms bool
	Platform  string
	Changes   bool
	Verify    Verify
	Registry  RegistryFlags
}

// History is cghistory's configuration, resolved and checked.
type History struct {
	Image     string
	Request   history.Request
	Platforms bool // show platforms (--platforms, or implied by --platform)
	Format    string
	Quiet     bool
	NoTrunc   bool
	Changes   bool
	Verify    Verify
	Common    Common
	Now       time.Time
}

// ResolveHistory checks cghistory's flags and layers them over config.json
// and the environment; times are read relative to env's clock.
func ResolveHistory(image string, flags HistoryFlags, env Env) (*History, error) {
	cfg := &History{Image: image, Format: flags.Format, Quiet: flags.Quiet, NoTrunc: flags.NoTrunc, Changes: flags.Changes,
		Verify: flags.Verify, Now: env.now()}
	q, err := history.ParseQuery(flags.Since, flags.Until, cfg.Now)
	if err != nil {
		return nil, err
	}
	if flags.Last < 0 {
		return nil, fmt.Errorf("--last must not be negative")
	}
	platform, err := ParsePlatform(flags.Platform)
	if err != nil {
		return nil, err
	}
	cfg.Platforms = flags.Platforms || platform != nil
	// -q prints only digests: no platforms to resolve unless one is chosen.
	cfg.Request = history.Request{Query: q, Last: flags.Last, Platforms: cfg.Platforms && (!flags.Quiet || platform != nil), Platform: platform}
	if cfg.Common, err = ResolveCommon(flags.Registry, env); err != nil {
		return nil, err
	}
	return cfg, nil
}
