package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/kinds"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker-cghistory/docker-cghistory/internal/policy"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/completion"
	"github.com/spf13/cobra"
)

// pinOptions are cgpin's flags; the rest of its configuration comes from
// the layers config.ResolvePin reads.
type pinOptions struct {
	config.PinFlags
	paths   []string
	changed func(flag string) bool // the flags given on the command line
	now     func() time.Time
}

// config resolves the run's configuration once.
func (opts pinOptions) config(dockerCLI command.Cli) (*config.Pin, error) {
	return config.ResolvePin(opts.paths, opts.PinFlags, opts.changed, config.Env{Docker: dockerCLI.ConfigFile(), Now: opts.now})
}

func newPinCommand(dockerCLI command.Cli) *cobra.Command {
	var opts pinOptions
	cmd := &cobra.Command{
		Use:   "cgpin [OPTIONS] [PATH...]",
		Short: ShortDescriptions[PinName],
		Long: `Pin the image references in Dockerfiles, Compose files, Kubernetes manifests,
Kustomize, Helm values, GitHub Actions, GitLab CI, CircleCI and dev container
files to digests, in place: "python:3.12" becomes "python:3.12@sha256:…",
keeping the tag that says what you meant.

PATH is a file or a directory (default ./Dockerfile); directories are searched
for every kind by its file name (and YAML or JSON files with apiVersion and kind
as Kubernetes), skipping vendored and hidden directories other than .github,
.circleci, .devcontainer and .gitlab; --kind keeps only some kinds. Stage names,
scratch, Compose services that build their image, and values with variables or
templates are left alone and reported. Multi-platform images are pinned by
their index digest. Every file is written atomically, only the reference's bytes
change, and a run that cannot resolve every reference writes nothing.`,
		Example: `  docker cgpin                          # pin ./Dockerfile
  docker cgpin --update .               # move every tag@digest pin to the tag's current build
  docker cgpin --at 2026-11-01 .        # roll back to the builds of that day
  docker cgpin --update --cooldown 3d . # only builds that have been out 3 days
  docker cgpin --check .                # CI: fail when something is unpinned
  docker cgpin --bump minor .           # python:3.12 → python:3.13@sha256:…
  docker cgpin --kind compose,kubernetes deploy/
  docker cgpin --diff services/`,
		ValidArgsFunction: completeFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths, opts.changed = args, cmd.Flags().Changed
			cfg, err := opts.config(dockerCLI)
			if err != nil {
				return err
			}
			return runPin(cmd.Context(), dockerCLI, cfg)
		},
		DisableFlagsInUseLine: true,
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.Update, "update", false, "Also move existing tag@digest pins to the tag's current digest")
	flags.StringVar(&opts.At, "at", "", `Pin to the build each tag pointed to at this time (RFC 3339, a date, or an age such as "7d"); implies --update`)
	flags.StringVar(&opts.Cooldown, "cooldown", "", `Pin only to builds that have been out this long (e.g. "3d")`)
	flags.BoolVar(&opts.Check, "check", false, "Write nothing; exit 1 when anything would change")
	flags.BoolVar(&opts.DryRun, "dry-run", false, "Write nothing; print a unified diff of what would change")
	flags.BoolVar(&opts.DryRun, "diff", false, "Same as --dry-run")
	flags.StringVar(&opts.Platform, "platform", "", `Pin this platform's image digest instead of the index, "os/arch[/variant]"`)
	flags.StringArrayVar(&opts.Exclude, "exclude", nil, "Skip files and directories matching this glob (repeatable)")
	flags.StringSliceVar(&opts.Kinds, "kind", nil, "Only these kinds of file ("+strings.Join(kindNames(), ", ")+"); KIND=GLOB: the files GLOB matches are of KIND")
	flags.StringVar(&opts.Format, "format", "", `Format the list of changes: "json", "markdown" or a Go template`)
	flags.BoolVarP(&opts.Quiet, "quiet", "q", false, "Print nothing but errors")
	flags.BoolVar(&opts.Explain, "explain", false, `Summarise what each moved digest changes (packages, fixed CVEs); "--format markdown" for a pull request`)
	flags.IntVarP(&opts.Jobs, "jobs", "j", 8, "Resolve up to this many references at once")
	flags.StringVar(&opts.OnlyIfChanged, "only-if-changed", "", `Move a pin only when the newer build changed its "packages" (or config), or fixes a CVE ("vulns"); implies --update`)
	flags.Lookup("only-if-changed").NoOptDefVal = policy.ChangedPackages
	flags.StringArrayVar(&opts.Fixes, "fixes", nil, "Move each pin that has this CVE to the oldest build that fixes it (repeatable); implies --update")
	flags.BoolVar(&opts.CooldownStrict, "cooldown-strict", false, "Never take a build younger than --cooldown, even one that fixes a CVE of the pinned build")
	addVerifyFlags(flags, &opts.Verify)
	flags.BoolVar(&opts.SkipUnknown, "skip-unknown", false, "Pass over named files that are no kind cgpin knows, or too big to read, instead of failing (for hooks)")
	flags.BoolVar(&opts.ShowConfig, "show-config", false, "Print the effective policy (flags, "+policy.FileName+", defaults) and where each value came from")
	flags.BoolVar(&opts.Outdated, "outdated", false, "Write nothing; report how far each pinned reference is behind its tag (builds, days, packages, fixed CVEs)")
	flags.StringVar(&opts.StaleAfter, "stale-after", "30d", "With --outdated, call a tag stale after this long without a build")
	flags.BoolVar(&opts.ExitCode, "exit-code", false, "With --outdated, exit 1 when a pin is behind (beyond --max-age / --max-behind)")
	flags.StringVar(&opts.MaxAge, "max-age", "", `With --outdated --exit-code, tolerate pins behind for less than this long (e.g. "14d")`)
	flags.IntVar(&opts.MaxBehind, "max-behind", 0, "With --outdated --exit-code, tolerate pins up to this many builds behind")
	flags.StringArrayVar(&opts.Bump, "bump", nil, `Move version tags to the newest compatible tag: "patch", "minor" or "major", or GLOB=LEVEL for the images a glob matches (repeatable; the last match wins); implies --update for the tags it moves`)
	flags.StringArrayVar(&opts.Ignore, "ignore-image", nil, `Leave references matching this glob alone, e.g. "cgr.dev/chainguard/*:latest-dev"; "!GLOB" takes them back (repeatable)`)
	addRegistryFlags(flags, &opts.Registry)
	_ = cmd.RegisterFlagCompletionFunc("platform", completion.Platforms())
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(kindNames(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("exclude", completeFiles)
	return cmd
}

// errPending makes --check exit non-zero.
var errPending = errors.New("not pinned")

func runPin(ctx context.Context, dockerCLI command.Cli, cfg *config.Pin) error {
	if cfg.ShowConfig {
		return output.WritePolicy(dockerCLI.Out(), policyValues(cfg.Policy))
	}
	d, err := depsFor(dockerCLI, cfg.Common)
	if err != nil {
		return err
	}
	resolver := &pin.RegistryResolver{Registry: d.client, History: d.history(), Now: cfg.Now, Mirrors: d.mirrors,
		At: cfg.At, Cooldown: cfg.Cooldown, Platform: cfg.Platform}
	files, err := pin.CollectKinds(cfg.Paths, cfg.Exclude, cfg.Kinds, cfg.KindGlobs)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no Dockerfiles found in %v, nor any other kind of file that names images", cfg.Paths)
	}
	if cfg.Outdated {
		return runOutdated(ctx, dockerCLI, d, resolver, files, cfg)
	}
	iv, err := d.verifier(cfg.Verify)
	if err != nil {
		return err
	}
	report := output.PinReport{Mode: mode(cfg), Update: cfg.Update, TTY: d.term.TTY}
	err = withTimeout(ctx, cfg.Common.Timeout, func(ctx context.Context) (err error) {
		popts := pin.Options{Update: cfg.Update, Jobs: cfg.Jobs, Ignore: cfg.Ignore, PinsOnly: len(cfg.Fixes) > 0, SkipUnknown: cfg.SkipUnknown,
			Bump: cfg.Bump}
		if (len(cfg.Bump) > 0 || cfg.Update) && len(cfg.Fixes) == 0 { // --fixes stays within each tag's history
			popts.Tags = &pin.OnceLister{Lister: d.client} // each repository's tags listed once
		}
		if iv != nil {
			popts.Verify, popts.VerifyPinned = iv, cfg.Check
		}
		if cfg.NeedsChooser() {
			popts.Chooser = &policy.Chooser{Registry: d.client, History: d.history(), Differ: d.differ(nil), Upstream: resolver.Upstream,
				Diff: d.summary(cfg.Platform), Platform: cfg.Platform, OnlyIfChanged: cfg.OnlyIfChanged,
				Fixes: cfg.Fixes, Cooldown: cfg.Cooldown, CooldownStrict: cfg.CooldownStrict}
		}
		if report.Plan, err = pin.Build(ctx, files, resolver, popts); err != nil || !cfg.Explain {
			return err
		}
		report.Explained, err = d.differ(nil).Explain(ctx, pairs(report.Plan.Changes()), d.summary(cfg.Platform))
		return err
	})
	if err != nil {
		return err
	}
	if report.Mode == output.PinWrite {
		if err := report.Plan.Write(); err != nil {
			return err
		}
	}
	out, errOut := io.Writer(dockerCLI.Out()), io.Writer(dockerCLI.Err())
	if cfg.Quiet {
		out, errOut = io.Discard, io.Discard
	}
	if err := output.WritePin(out, errOut, cfg.Format, report); err != nil {
		return err
	}
	if n := len(report.Plan.Changes()); cfg.Check && n > 0 {
		return fmt.Errorf("%d %s %w", n, plural(n, "reference is", "references are"), errPending)
	}
	return nil
}

// errOutdated makes --outdated --exit-code exit non-zero.
var errOutdated = errors.New("behind their tags")

func runOutdated(ctx context.Context, dockerCLI command.Cli, d *deps, r *pin.RegistryResolver, files []pin.Source, cfg *config.Pin) error {
	c := &policy.Chooser{Registry: d.client, History: d.history(), Differ: d.differ(nil), Diff: d.summary(cfg.Platform), Platform: cfg.Platform, Upstream: r.Upstream}
	var lags []policy.Lag
	var notes []pin.Note
	err := withTimeout(ctx, cfg.Common.Timeout, func(ctx context.Context) (err error) {
		var refs []pin.Reference
		if refs, notes, err = pin.Scan(ctx, files, pin.Options{Ignore: cfg.Ignore, Jobs: cfg.Jobs, SkipUnknown: cfg.SkipUnknown}); err != nil {
			return err
		}
		lags, err = c.Outdated(ctx, refs, policy.OutdatedOptions{StaleAfter: cfg.StaleAfter, Now: r.Now(), Jobs: cfg.Jobs})
		return err
	})
	if err != nil {
		return err
	}
	if !cfg.Quiet {
		for _, n := range notes {
			fmt.Fprintf(dockerCLI.Err(), "%s: left alone: %s\n", output.Escape(n.Where()), output.Escape(n.Reason))
		}
		if err := output.WriteOutdated(dockerCLI.Out(), cfg.Format, r.Now(), lags); err != nil {
			return err
		}
	}
	overdue := 0
	for _, l := range lags {
		if l.Overdue(r.Now(), cfg.MaxAge, cfg.MaxBehind) {
			overdue++
		}
	}
	if cfg.ExitCode && overdue > 0 {
		return fmt.Errorf("%d %s %w", overdue, plural(overdue, "pin is", "pins are"), errOutdated)
	}
	return nil
}

// mode is what the run does with its plan.
func mode(cfg *config.Pin) output.PinMode {
	switch {
	case cfg.DryRun:
		return output.PinDryRun
	case cfg.Check:
		return output.PinCheck
	}
	return output.PinWrite
}

// pairs are the builds each change moves between; nil for a first pin.
func pairs(changes []pin.Change) []*imagediff.Pair {
	out := make([]*imagediff.Pair, len(changes))
	for i, c := range changes {
		if from, ok := c.Previous(); ok {
			out[i] = &imagediff.Pair{From: from, To: c.Next()}
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// kindNames are the --kind values.
func kindNames() []string {
	out := make([]string, len(kinds.Table))
	for i, k := range kinds.Names() {
		out[i] = string(k)
	}
	return out
}

// policyValues are the effective policy, for --show-config.
func policyValues(values []config.Value) []output.PolicyValue {
	out := make([]output.PolicyValue, len(values))
	for i, v := range values {
		out[i] = output.PolicyValue(v)
	}
	return out
}
