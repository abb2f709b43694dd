package commands

import (
	"context"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/complete"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/completion"
	"github.com/spf13/cobra"
)

// completer is the completion source of a run, on the same caches,
// credentials and namespace as the commands.
func completer(dockerCLI command.Cli) *complete.Source {
	d, err := newDeps(dockerCLI, registryOptions{Timeout: time.Second})
	if err != nil {
		return nil
	}
	return &complete.Source{Cache: d.cache, Registry: d.client, History: d.history(), Refs: d.refs}
}

func candidates(cs []complete.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Value
		if c.Description != "" {
			out[i] += "\t" + c.Description
		}
	}
	return out
}

// completeFiles leaves completion to the shell: file and directory names
// (docker's plugin command turns that off for every argument and flag that
// registers nothing). Globs are the shell's too.
func completeFiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveDefault
}

// completeImages completes the first n positional arguments as images:
// names (without a trailing space, so ":" or "~" can follow), tags, builds.
func completeImages(dockerCLI command.Cli, n int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		s := completer(dockerCLI)
		if len(args) >= n || s == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cs := s.Image(ctx(cmd), toComplete)
		directive := cobra.ShellCompDirectiveNoFileComp
		if len(cs) > 0 && !hasAny(toComplete, ":~@") {
			directive |= cobra.ShellCompDirectiveNoSpace
		}
		return candidates(cs), directive
	}
}

// completeDates offers the build times of the image argument.
func completeDates(dockerCLI command.Cli) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		s := completer(dockerCLI)
		if len(args) == 0 || s == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return candidates(s.Dates(ctx(cmd), args[0], toComplete)), cobra.ShellCompDirectiveNoFileComp
	}
}

// completePlatforms offers the image argument's platforms, else docker's list.
func completePlatforms(dockerCLI command.Cli) cobra.CompletionFunc {
	static := completion.Platforms()
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if s := completer(dockerCLI); s != nil && len(args) > 0 {
			if cs := s.Platforms(ctx(cmd), args[0]); len(cs) > 0 {
				return candidates(cs), cobra.ShellCompDirectiveNoFileComp
			}
		}
		return static(cmd, args, toComplete)
	}
}

func ctx(cmd *cobra.Command) context.Context {
	if c := cmd.Context(); c != nil {
		return c
	}
	return context.Background()
}

func hasAny(s, chars string) bool {
	for _, c := range chars {
		for _, r := range s {
			if r == c {
				return true
			}
		}
	}
	return false
}
