package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
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

// historyOptions are cghistory's flags.
type historyOptions struct {
	image string
	config.HistoryFlags
	now func() time.Time
}

// config resolves the run's configuration once.
func (opts historyOptions) config(dockerCLI command.Cli) (*config.History, error) {
	return config.ResolveHistory(opts.image, opts.HistoryFlags, config.Env{Docker: dockerCLI.ConfigFile(), Now: opts.now})
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
			cfg, err := opts.config(dockerCLI)
			if err != nil {
				return err
			}
			return runHistory(cmd.Context(), dockerCLI, cfg)
		},
		DisableFlagsInUseLine: true,
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.Format, "format", "", flagsHelper.FormatHelp)
	flags.BoolVarP(&opts.Quiet, "quiet", "q", false, "Only show digests")
	flags.BoolVar(&opts.NoTrunc, "no-trunc", false, "Don't truncate output")
	flags.IntVarP(&opts.Last, "last", "n", 0, "Show only the N most recent builds")
	flags.StringVar(&opts.Since, "since", "", `Show builds since a time: RFC 3339, a date ("2026-01-02") or a duration ("36h", "7d")`)
	flags.StringVar(&opts.Until, "until", "", "Show builds up to a time (same forms as --since)")
	flags.BoolVar(&opts.Platforms, "platforms", false, "Show each build's per-platform digests and sizes")
	flags.StringVar(&opts.Platform, "platform", "", `Show only this platform's digest, "os/arch[/variant]" (implies --platforms)`)
	addVerifyFlags(flags, &opts.Verify)
	flags.BoolVar(&opts.Changes, "changes", false, "Summarise what changed from the build before: packages, fixed CVEs (as cgdiff)")
	addRegistryFlags(flags, &opts.Registry)
	_ = cmd.RegisterFlagCompletionFunc("platform", completePlatforms(dockerCLI))
	_ = cmd.RegisterFlagCompletionFunc("since", completeDates(dockerCLI))
	_ = cmd.RegisterFlagCompletionFunc("until", completeDates(dockerCLI))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(newTagsCommand(dockerCLI), newAuthCommand(dockerCLI), newBisectCommand(dockerCLI), newHintsCommand(dockerCLI), newHookCommand(dockerCLI))
	return cmd
}

func runHistory(ctx context.Context, dockerCLI command.Cli, cfg *config.History) error {
	req := cfg.Request
	d, err := depsFor(dockerCLI, cfg.Common)
	if err != nil {
		return err
	}
	tag, err := d.refs.Tag(cfg.Image)
	if err != nil {
		return err
	}
	up, mirrored := d.upstream(tag)
	if mirrored {
		req.Upstream = &up
	}
	iv, err := d.verifier(cfg.Verify)
	if err != nil {
		return err
	}
	var builds *history.Builds
	var changes []imagediff.Explanation
	var signatures []sigverify.Outcome
	err = withTimeout(ctx, cfg.Common.Timeout, func(ctx context.Context) (err error) {
		if builds, err = d.history().Builds(ctx, tag, req); err != nil || builds.Unsupported != nil {
			return err
		}
		if iv != nil {
			if signatures, err = iv.CheckAll(ctx, tag.Context(), digests(builds.Entries), 8); err != nil {
				return err
			}
		}
		if cfg.Changes {
			changes, err = d.differ(nil).Changelog(ctx, tag.Context(), builds.All, len(builds.Entries), d.summary(req.Platform))
		}
		return err
	})
	if err != nil {
		return err
	}
	if mirrored && !cfg.Quiet {
		fmt.Fprintf(dockerCLI.Err(), "History of %s from its upstream %s\n", tag, up)
	}
	platforms := cfg.Platforms && builds.Unsupported == nil
	table, quiet := output.HistoryFormats(cfg.Changes, platforms, req.Platform != nil && platforms, signatures != nil)
	if err := output.WriteHistory(output.HistoryContext{
		Context: formatter.Context{
			Output: dockerCLI.Out(),
			Format: output.Format(cfg.Format, cfg.Quiet, table, quiet),
			Trunc:  !cfg.NoTrunc && !cfg.Quiet,
		},
		Image: tag.Context().String(), Tag: tag.TagStr(), Platforms: platforms, Now: cfg.Now, Changes: changes,
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
