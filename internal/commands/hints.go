package commands

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/hints"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

func newHintsCommand(dockerCLI command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hints enable|disable|status",
		Short: "Opt in to (or out of) one-line hints after docker build",
		Long: `After "docker build", say when the Dockerfile's base images are unpinned, or, after a
failed build on pinned ones, how to roll back. Hints come from local files only
(no network). "enable" adds this plugin's hooks entry to the docker config;
docker runs plugin hooks only when they are enabled globally too.`,
		Args:      cli.ExactArgs(1),
		ValidArgs: []string{"enable", "disable", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHints(dockerCLI, args[0])
		},
		DisableFlagsInUseLine: true,
	}
	return cmd
}

// hooksEnabled says whether docker runs plugin hooks at all, and why:
// DOCKER_CLI_HOOKS (or the older DOCKER_CLI_HINTS), else features.hooks.
func hooksEnabled(dockerCLI command.Cli) (bool, string) {
	for _, env := range []string{"DOCKER_CLI_HOOKS", "DOCKER_CLI_HINTS"} {
		if v := os.Getenv(env); v != "" {
			on, _ := strconv.ParseBool(v)
			return on, env + "=" + v
		}
	}
	if v, ok := dockerCLI.ConfigFile().Features["hooks"]; ok {
		on, _ := strconv.ParseBool(v)
		return on, `"features": {"hooks": "` + v + `"} in config.json`
	}
	return false, "no features.hooks in config.json (off by default)"
}

func runHints(dockerCLI command.Cli, action string) error {
	cf := dockerCLI.ConfigFile()
	out := dockerCLI.Out()
	switch action {
	case "enable":
		cf.SetPluginConfig(HistoryName, "hooks", hints.Commands)
	case "disable":
		cf.SetPluginConfig(HistoryName, "hooks", "")
	case "status":
	default:
		return fmt.Errorf("hints %q: want enable, disable or status", action)
	}
	if action != "status" {
		if err := cf.Save(); err != nil {
			return fmt.Errorf("save %s: %w", cf.Filename, err)
		}
	}
	entry, _ := cf.PluginConfig(HistoryName, "hooks")
	if entry == "" {
		fmt.Fprintf(out, "Hints are off (no plugins.%s.hooks in %s).\n", HistoryName, cf.Filename)
		return nil
	}
	fmt.Fprintf(out, "Hints follow: %s (plugins.%s.hooks in %s).\n", entry, HistoryName, cf.Filename)
	if on, why := hooksEnabled(dockerCLI); on {
		fmt.Fprintf(out, "Docker runs plugin hooks: %s.\n", why)
	} else {
		fmt.Fprintf(out, "Docker does not run plugin hooks yet: %s. Turn them on yourself (this changes every plugin's hooks, so cghistory leaves it to you):\n"+
			"  add \"features\": {\"hooks\": \"true\"} to %s, or export DOCKER_CLI_HOOKS=true\n", why, cf.Filename)
	}
	return nil
}

// newHookCommand answers docker's hook call after a matched command:
// `docker-cghistory cghistory docker-cli-plugin-hooks REQUEST`. It prints a
// hooks.Response, or nothing when there is nothing useful to say.
func newHookCommand(dockerCLI command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:    metadata.HookSubcommandName,
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return Hook(dockerCLI.Out(), args[0])
		},
	}
}

// Hook answers one hook request (docker's JSON) on w, for the Dockerfile
// in the working directory (see hints.Hook). main calls it before building
// a docker CLI, which the answer does not need.
func Hook(w io.Writer, request string) error {
	dir, err := os.Getwd()
	if err != nil {
		return nil
	}
	return hints.Hook(w, request, dir, cache.New(cache.DefaultDir(), 0))
}
