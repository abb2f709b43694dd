package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker-cghistory/docker-cghistory/internal/sigverify"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/formatter"
	flagsHelper "github.com/docker/cli/cli/flags"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

type historyOptions struct {
	image     string
	format    string
	quiet     bool
	noTrunc   bool
	last      int
	since     string
	until     string
	platforms bool
	platform  string
	changes   bool
	verify    verifyOptions
	registry  registryOptions
	now       func() time.Time
}

func newHistoryCommand(dockerCLI command.Cli) *cobra.Command {
	var opts historyOptions
	cmd := &cobra.Command{
		Use:   "cghistory [OPTIONS] IMAGE[:TAG]",
		Short: ShortDescriptions[HistoryName],
		Long: `Show every digest an image tag pointed to, and when, newest first.

A bare name such as "python" means cgr.dev/chainguard/python (change the
prefix with CGHISTORY_NAMESPACE or plugins.cghistory.namespace in
config.json); the tag defaults to "latest".`,
		Example: `  docker cghistory nginx
  docker cghistory python:latest-dev --since 30d
  docker cghistory nginx --platforms --last 5
  docker cghistory nginx --platform linux/arm64 --format json`,
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: completeImages(dockerCLI, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image = args[0]
			return runHistory(cmd.Context(), dockerCLI, opts)
		},
		DisableFlagsInUseLine: true,
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.format, "format", "", flagsHelper.FormatHelp)
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show digests")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	flags.IntVarP(&opts.last, "last", "n", 0, "Show only the N most recent builds")
	flags.StringVar(&opts.since, "since", "", `Show builds since a time: RFC 3339, a date ("2026-01-02") or a duration ("36h", "7d")`)
	flags.StringVar(&opts.until, "until", "", "Show builds up to a time (same forms as --since)")
	flags.BoolVar(&opts.platforms, "platforms", false, "Show each build's per-platform digests and sizes")
	flags.StringVar(&opts.platform, "platform", "", `Show only this platform's digest, "os/arch[/variant]" (implies --platforms)`)
	addVerifyFlags(flags, &opts.verify)
	flags.BoolVar(&opts.changes, "changes", false, "Summarise what changed from the build before: packages, fixed CVEs (as cgdiff)")
	addRegistryFlags(flags, &opts.registry)
	_ = cmd.RegisterFlagCompletionFunc("platform", completePlatforms(dockerCLI))
	_ = cmd.RegisterFlagCompletionFunc("since", completeDates(dockerCLI))
	_ = cmd.RegisterFlagCompletionFunc("until", completeDates(dockerCLI))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(newTagsCommand(dockerCLI), newAuthCommand(dockerCLI), newHintsCommand(dockerCLI), newHookCommand(dockerCLI), newVersionCommand(dockerCLI))
	return cmd
}

func runHistory(ctx context.Context, dockerCLI command.Cli, opts historyOptions) error {
	now := time.Now
	if opts.now != nil {
		now = opts.now
	}
	req, err := opts.request(now())
	if err != nil {
		return err
	}
	d, err := newDeps(dockerCLI, opts.registry)
	if err != nil {
		return err
	}
	tag, err := d.refs.Tag(opts.image)
	if err != nil {
		return err
	}
	up, mirrored := d.upstream(tag)
	if mirrored {
		req.Upstream = &up
	}
	iv, err := d.verifier(opts.verify)
	if err != nil {
		return err
	}
	var builds *history.Builds
	var changes []imagediff.Explanation
	var signatures []sigverify.Outcome
	err = withTimeout(ctx, opts.registry.timeout, func(ctx context.Context) (err error) {
		if builds, err = d.history().Builds(ctx, tag, req); err != nil || builds.Unsupported != nil {
			return err
		}
		if iv != nil {
			if signatures, err = iv.CheckAll(ctx, tag.Context(), digests(builds.Entries), 8); err != nil {
				return err
			}
		}
		if opts.changes {
			changes, err = d.differ(nil).Changelog(ctx, tag.Context(), builds.All, len(builds.Entries), summaryOptions(req.Platform))
		}
		return err
	})
	if err != nil {
		return err
	}
	if mirrored && !opts.quiet {
		fmt.Fprintf(dockerCLI.Err(), "History of %s from its upstream %s\n", tag, up)
	}
	platforms := opts.platforms && builds.Unsupported == nil
	table, quiet := output.HistoryFormats(opts.changes, platforms, req.Platform != nil && platforms, signatures != nil)
	if err := output.WriteHistory(output.HistoryContext{
		Context: formatter.Context{
			Output: dockerCLI.Out(),
			Format: output.Format(opts.format, opts.quiet, table, quiet),
			Trunc:  !opts.noTrunc && !opts.quiet,
		},
		Image: tag.Context().String(), Tag: tag.TagStr(), Platforms: platforms, Now: now(), Changes: changes,
		Upstream: upstreamName(up, mirrored), Signatures: signatures,
	}, builds.Entries); err != nil {
		return err
	}
	if builds.Unsupported != nil {
		return builds.Unsupported
	}
	return nil
}

func digests(entries []history.Entry) []v1.Hash {
	out := make([]v1.Hash, len(entries))
	for i, e := range entries {
		out[i] = e.Digest
	}
	return out
}

// upstreamName is the upstream repository's name, "" when not mirrored.
func upstreamName(up name.Tag, mirrored bool) string {
	if !mirrored {
		return ""
	}
	return up.Context().String()
}

// request turns the flags into a history request.
func (opts *historyOptions) request(now time.Time) (history.Request, error) {
	q, err := history.ParseQuery(opts.since, opts.until, now)
	if err != nil {
		return history.Request{}, err
	}
	if opts.last < 0 {
		return history.Request{}, fmt.Errorf("--last must not be negative")
	}
	platform, err := parsePlatform(opts.platform)
	if err != nil {
		return history.Request{}, err
	}
	opts.platforms = opts.platforms || platform != nil
	// -q prints only digests: no platforms to resolve unless one is chosen.
	return history.Request{Query: q, Last: opts.last, Platforms: opts.platforms && (!opts.quiet || platform != nil), Platform: platform}, nil
}
