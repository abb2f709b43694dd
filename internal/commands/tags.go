package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/complete"
	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/formatter"
	flagsHelper "github.com/docker/cli/cli/flags"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
)

type tagsOptions struct {
	image  string
	all    bool
	format string
	quiet  bool
	// streams lists version streams instead of tags, a stream stopped
	// after staleAfter without a build.
	streams    bool
	staleAfter string
	jobs       int
	now        func() time.Time
	registry   registryOptions
}

func newTagsCommand(dockerCLI command.Cli) *cobra.Command {
	var opts tagsOptions
	cmd := &cobra.Command{
		Use:   "tags [OPTIONS] IMAGE",
		Short: "List an image's tags",
		Example: `  docker cghistory tags nginx
  docker cghistory tags --all cgr.dev/chainguard/python
  docker cghistory tags --streams python  # 3.12, 3.12-dev, 3.13, …: last build, moving or stopped`,
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: completeImages(dockerCLI, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image = args[0]
			return runTags(cmd.Context(), dockerCLI, opts)
		},
		DisableFlagsInUseLine: true,
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all", "a", false, `Include signature and attestation tags ("sha256-…")`)
	flags.StringVar(&opts.format, "format", "", flagsHelper.FormatHelp)
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show tag names")
	flags.BoolVar(&opts.streams, "streams", false, "List the version streams (3.12, 3.12-dev, 3.13, …): each one's newest build and whether it still moves")
	flags.StringVar(&opts.staleAfter, "stale-after", "30d", "With --streams, call a stream stopped after this long without a build")
	flags.IntVarP(&opts.jobs, "jobs", "j", 8, "With --streams, read up to this many stream histories at once")
	addRegistryFlags(flags, &opts.registry)
	return cmd
}

func runTags(ctx context.Context, dockerCLI command.Cli, opts tagsOptions) error {
	d, err := newDeps(dockerCLI, opts.registry)
	if err != nil {
		return err
	}
	repo, err := d.refs.Repository(opts.image)
	if err != nil {
		return err
	}
	var tags []string
	err = withTimeout(ctx, opts.registry.Timeout, func(ctx context.Context) (err error) {
		tags, err = d.client.Tags(ctx, repo)
		return err
	})
	if err != nil {
		return err
	}
	complete.RememberTags(d.cache, repo, tags, time.Now())
	if opts.streams {
		return runStreams(ctx, dockerCLI, d, repo, tags, opts)
	}
	if !opts.all {
		tags = slices.DeleteFunc(tags, func(t string) bool { return strings.HasPrefix(t, "sha256-") })
	}
	slices.Sort(tags)
	return output.WriteTags(output.TagsContext{
		Context: formatter.Context{
			Output: dockerCLI.Out(),
			Format: output.Format(opts.format, opts.quiet, output.TagsTableFormat, output.TagsQuietFormat),
		},
		Image: repo.String(),
	}, tags)
}

// runStreams lists the repository's version streams, each with its newest
// build (one history request per stream tag).
func runStreams(ctx context.Context, dockerCLI command.Cli, d *deps, repo name.Repository, tags []string, opts tagsOptions) error {
	stale, err := history.ParseDuration(opts.staleAfter)
	if err != nil {
		return fmt.Errorf("--stale-after: %w", err)
	}
	now := time.Now
	if opts.now != nil {
		now = opts.now
	}
	var streams []history.Stream
	err = withTimeout(ctx, opts.registry.Timeout, func(ctx context.Context) (err error) {
		streams, err = d.history().Streams(ctx, repo, tags, history.StreamOptions{StaleAfter: stale, Now: now(), Jobs: opts.jobs})
		return err
	})
	if err != nil {
		return err
	}
	return output.WriteStreams(output.StreamsContext{
		Context: formatter.Context{
			Output: dockerCLI.Out(),
			Format: output.Format(opts.format, opts.quiet, output.StreamsTableFormat, output.StreamsQuietFormat),
		},
		Image: repo.String(), Now: now(),
	}, streams)
}
