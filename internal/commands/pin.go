package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/completion"
	"github.com/docker/cli/cli/command/formatter"
	"github.com/spf13/cobra"
)

type pinOptions struct {
	paths    []string
	update   bool
	at       string
	cooldown string
	check    bool
	dryRun   bool
	platform string
	exclude  []string
	format   string
	quiet    bool
	explain  bool
	jobs     int
	registry registryOptions
	now      func() time.Time
}

func newPinCommand(dockerCLI command.Cli) *cobra.Command {
	var opts pinOptions
	cmd := &cobra.Command{
		Use:   "cgpin [OPTIONS] [PATH...]",
		Short: ShortDescriptions[PinName],
		Long: `Pin the image references in Dockerfiles to digests, in place: "python:3.12"
becomes "python:3.12@sha256:…", keeping the tag that says what you meant.

PATH is a Dockerfile or a directory (default ./Dockerfile); directories are
searched for Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile and
Containerfile, skipping hidden and vendored directories. FROM, COPY --from,
RUN --mount=from= and global ARG defaults used by FROM are pinned; stage names,
scratch and references with unresolved variables are left alone. Multi-platform
images are pinned by their index digest. Every file is written atomically,
and a run that cannot resolve every reference writes nothing.`,
		Example: `  docker cgpin                          # pin ./Dockerfile
  docker cgpin --update .               # move every tag@digest pin to the tag's current build
  docker cgpin --at 2026-11-01 .        # roll back to the builds of that day
  docker cgpin --update --cooldown 3d . # only builds that have been out 3 days
  docker cgpin --check .                # CI: fail when something is unpinned
  docker cgpin --diff services/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runPin(cmd.Context(), dockerCLI, opts)
		},
		DisableFlagsInUseLine: true,
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.update, "update", false, "Also move existing tag@digest pins to the tag's current digest")
	flags.StringVar(&opts.at, "at", "", `Pin to the build each tag pointed to at this time (RFC 3339, a date, or an age such as "7d"); implies --update`)
	flags.StringVar(&opts.cooldown, "cooldown", "", `Pin only to builds that have been out this long (e.g. "3d")`)
	flags.BoolVar(&opts.check, "check", false, "Write nothing; exit 1 when anything would change")
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Write nothing; print a unified diff of what would change")
	flags.BoolVar(&opts.dryRun, "diff", false, "Same as --dry-run")
	flags.StringVar(&opts.platform, "platform", "", `Pin this platform's image digest instead of the index, "os/arch[/variant]"`)
	flags.StringArrayVar(&opts.exclude, "exclude", nil, "Skip files and directories matching this glob (repeatable)")
	flags.StringVar(&opts.format, "format", "", `Format the list of changes: "json", "markdown" or a Go template`)
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Print nothing but errors")
	flags.BoolVar(&opts.explain, "explain", false, `Summarise what each moved digest changes (packages, fixed CVEs); "--format markdown" for a pull request`)
	flags.IntVarP(&opts.jobs, "jobs", "j", 8, "Resolve up to this many references at once")
	addRegistryFlags(flags, &opts.registry)
	_ = cmd.RegisterFlagCompletionFunc("platform", completion.Platforms())
	return cmd
}

// errPending makes --check exit non-zero.
var errPending = errors.New("not pinned")

func runPin(ctx context.Context, dockerCLI command.Cli, opts pinOptions) error {
	now := time.Now
	if opts.now != nil {
		now = opts.now
	}
	client := newRegistryClient(dockerCLI, opts.registry)
	resolver := &pin.RegistryResolver{Registry: client, History: &history.Client{Registry: client}, Now: now}
	var err error
	if opts.at != "" {
		if resolver.At, err = history.ParseTime(opts.at, now()); err != nil {
			return fmt.Errorf("--at: %w", err)
		}
		opts.update = true // rolling back moves existing pins
	}
	if opts.cooldown != "" {
		if resolver.Cooldown, err = history.ParseDuration(opts.cooldown); err != nil {
			return fmt.Errorf("--cooldown: %w", err)
		}
	}
	if opts.platform != "" {
		if resolver.Platform, err = parsePlatform(opts.platform); err != nil {
			return err
		}
	}
	if opts.jobs < 1 {
		return fmt.Errorf("--jobs must be at least 1")
	}
	files, err := pin.Collect(opts.paths, opts.exclude)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no Dockerfiles found in %v", opts.paths)
	}
	var plan *pin.Plan
	err = withTimeout(ctx, opts.registry.timeout, func(ctx context.Context) error {
		plan, err = pin.Build(ctx, files, resolver, pin.Options{Update: opts.update, Jobs: opts.jobs})
		return err
	})
	if err != nil {
		return err
	}

	var explain map[string]string
	if opts.explain && len(plan.Changes()) > 0 {
		err = withTimeout(ctx, opts.registry.timeout, func(ctx context.Context) error {
			explain, err = explainChanges(ctx, dockerCLI, client, plan.Changes(), resolver.Platform, opts.registry)
			return err
		})
		if err != nil {
			return err
		}
	}
	var errOut io.Writer = dockerCLI.Err()
	if opts.quiet {
		errOut = io.Discard
	}
	for _, n := range plan.Notes {
		fmt.Fprintf(errOut, "%s:%d: %s: left alone: %s\n", n.File, n.Line, n.Ref, n.Reason)
	}
	changes := plan.Changes()
	switch {
	case opts.dryRun && opts.format == "":
		if !opts.quiet {
			fmt.Fprint(dockerCLI.Out(), plan.Diff())
			for _, c := range changes {
				if e := explain[fmt.Sprintf("%s:%d", c.File, c.Line)]; e != "" {
					fmt.Fprintf(dockerCLI.Out(), "# %s:%d: %s\n", c.File, c.Line, e)
				}
			}
		}
	case opts.dryRun:
		// A --format asks for the list of changes, not a diff.
		if !opts.quiet {
			if err := writeChanges(dockerCLI, opts.format, output.PinFormat, changes, explain); err != nil {
				return err
			}
		}
	case opts.check:
		if !opts.quiet {
			if err := writeChanges(dockerCLI, opts.format, output.PinCheckFormat, changes, explain); err != nil {
				return err
			}
		}
	default:
		if err := plan.Write(); err != nil {
			return err
		}
		if !opts.quiet {
			def := output.PinFormat
			if explain != nil {
				def = output.PinExplainFormat
			}
			if err := writeChanges(dockerCLI, opts.format, def, changes, explain); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(errOut, summary(plan, opts))
	if opts.check && len(changes) > 0 {
		return fmt.Errorf("%d %s %w", len(changes), plural(len(changes), "reference is", "references are"), errPending)
	}
	return nil
}

func writeChanges(dockerCLI command.Cli, format, def string, changes []pin.Change, explain map[string]string) error {
	if format == "markdown" {
		return output.WriteChangesMarkdown(dockerCLI.Out(), changes, explain)
	}
	f := output.Format(format, false, def, def)
	if format == "" || format == formatter.TableFormatKey {
		f = formatter.Format(def)
	}
	return output.WriteChanges(formatter.Context{Output: dockerCLI.Out(), Format: f}, changes, explain)
}

func summary(p *pin.Plan, opts pinOptions) string {
	n, files := len(p.Changes()), len(p.Changed())
	verb := "Pinned"
	switch {
	case opts.check || opts.dryRun:
		verb = "Would pin"
	case opts.update:
		verb = "Pinned or updated"
	}
	return fmt.Sprintf("%s %d %s in %d of %d %s (%d distinct %s resolved, %d left alone)",
		verb, n, plural(n, "reference", "references"), files, len(p.Files), plural(len(p.Files), "file", "files"),
		p.Resolved, plural(p.Resolved, "image", "images"), len(p.Notes))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
