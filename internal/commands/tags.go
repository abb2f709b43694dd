package commands

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/complete"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/formatter"
	flagsHelper "github.com/docker/cli/cli/flags"
	"github.com/spf13/cobra"
)

type tagsOptions struct {
	image    string
	all      bool
	format   string
	quiet    bool
	registry registryOptions
}

func newTagsCommand(dockerCLI command.Cli) *cobra.Command {
	var opts tagsOptions
	cmd := &cobra.Command{
		Use:   "tags [OPTIONS] IMAGE",
		Short: "List an image's tags",
		Example: `  docker cghistory tags nginx
  docker cghistory tags --all cgr.dev/chainguard/python`,
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
