package commands

import (
	"context"

	"github.com/docker/cli/cli/command"
)

// runPinOpts, runDiffOpts and runHistoryOpts resolve the options as the
// commands do, then run.
func runPinOpts(ctx context.Context, dockerCLI command.Cli, opts pinOptions) error {
	cfg, err := opts.config(dockerCLI)
	if err != nil {
		return err
	}
	return runPin(ctx, dockerCLI, cfg)
}

func runDiffOpts(ctx context.Context, dockerCLI command.Cli, opts diffOptions) error {
	cfg, err := opts.config(dockerCLI)
	if err != nil {
		return err
	}
	return runDiff(ctx, dockerCLI, cfg)
}

func runHistoryOpts(ctx context.Context, dockerCLI command.Cli, opts historyOptions) error {
	cfg, err := opts.config(dockerCLI)
	if err != nil {
		return err
	}
	return runHistory(ctx, dockerCLI, cfg)
}
