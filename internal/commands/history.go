package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/completion"
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
		Args: cli.ExactArgs(1),
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
	flags.BoolVar(&opts.changes, "changes", false, "Summarise what changed from the build before: packages, fixed CVEs (as cgdiff)")
	addRegistryFlags(flags, &opts.registry)
	_ = cmd.RegisterFlagCompletionFunc("platform", completion.Platforms())
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(newTagsCommand(dockerCLI), newAuthCommand(dockerCLI))
	return cmd
}

func runHistory(ctx context.Context, dockerCLI command.Cli, opts historyOptions) error {
	now := time.Now
	if opts.now != nil {
		now = opts.now
	}
	var q history.Query
	var err error
	if opts.since != "" {
		if q.Since, err = history.ParseTime(opts.since, now()); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	if opts.until != "" {
		if q.Until, err = history.ParseTime(opts.until, now()); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Since.After(q.Until) {
		return fmt.Errorf("--since (%s) is after --until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if opts.last < 0 {
		return fmt.Errorf("--last must not be negative")
	}
	var want *v1.Platform
	if opts.platform != "" {
		if want, err = parsePlatform(opts.platform); err != nil {
			return err
		}
		opts.platforms = true
	}
	ref, err := registry.ParseReference(opts.image, namespace(dockerCLI), opts.registry.insecure)
	if err != nil {
		return err
	}
	tag, ok := ref.(name.Tag)
	if !ok {
		return fmt.Errorf("%s names a digest; history follows a tag, e.g. %s:latest", opts.image, ref.Context())
	}

	regClient := newRegistryClient(dockerCLI, opts.registry)
	client := &history.Client{Registry: regClient}
	var entries []history.Entry
	var changes map[string]string
	var notSupported *history.NotSupportedError
	err = withTimeout(ctx, opts.registry.timeout, func(ctx context.Context) error {
		var err error
		if entries, err = client.List(ctx, tag, q); err != nil {
			return err
		}
		all := entries
		if opts.last > 0 && len(entries) > opts.last {
			entries = entries[:opts.last]
		}
		if opts.changes {
			if changes, err = summarise(ctx, dockerCLI, regClient, tag, all, len(entries), want, opts.registry); err != nil {
				return err
			}
		}
		if !opts.platforms || opts.quiet && want == nil {
			return nil
		}
		return client.ResolvePlatforms(ctx, tag.Context(), entries)
	})
	switch {
	case errors.As(err, &notSupported):
		// Still show what is known: the tag's current digest (time unknown),
		// then fail with the explanation.
		entries = []history.Entry{{Digest: notSupported.Current}}
		opts.platforms, want = false, nil
	case err != nil:
		return err
	}
	if want != nil { // keep the builds that have the platform, and only it
		for i := range entries {
			entries[i].Platforms = keepPlatform(entries[i].Platforms, *want)
		}
		entries = slices.DeleteFunc(entries, func(e history.Entry) bool { return len(e.Platforms) == 0 })
	}

	tableFormat := output.HistoryTableFormat
	switch {
	case opts.changes:
		tableFormat = output.HistoryChangesTableFormat
	case opts.platforms:
		tableFormat = output.HistoryPlatformsTableFormat
	}
	quietFormat := output.HistoryQuietFormat
	if want != nil {
		quietFormat = "{{.PlatformDigest}}"
	}
	if err := output.WriteHistory(output.HistoryContext{
		Context: formatter.Context{
			Output: dockerCLI.Out(),
			Format: output.Format(opts.format, opts.quiet, tableFormat, quietFormat),
			Trunc:  !opts.noTrunc && !opts.quiet,
		},
		Image:     tag.Context().String(),
		Tag:       tag.TagStr(),
		Platforms: opts.platforms,
		Now:       now(),
		Changes:   changes,
	}, entries); err != nil {
		return err
	}
	if notSupported != nil {
		return notSupported
	}
	return nil
}

// keepPlatform keeps the platform images that satisfy want.
func keepPlatform(ps []registry.Platform, want v1.Platform) []registry.Platform {
	var out []registry.Platform
	for _, p := range ps {
		if p.Platform.Satisfies(want) {
			out = append(out, p)
		}
	}
	return out
}
