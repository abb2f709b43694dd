package commands

import (
	"fmt"
	"runtime"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// newVersionCommand prints the plugin's version (as "git describe" gave it
// at build time), its platform and its Go toolchain.
func newVersionCommand(dockerCLI command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the plugin's version",
		Args:  cli.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(dockerCLI.Out(), "docker-cghistory %s (%s/%s, %s)\n", Version, runtime.GOOS, runtime.GOARCH, runtime.Version())
			return err
		},
		DisableFlagsInUseLine: true,
	}
}
