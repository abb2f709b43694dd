// Command docker-cghistory is a docker CLI plugin. One binary answers to
// three names: installed as docker-cghistory, docker-cgdiff and docker-cgpin
// (symlinks), it picks its command from the name it was run as.
package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/commands"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	name := commandName(os.Args[0])
	commands.Version = version
	meta := metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "docker-cghistory",
		Version:          version,
		ShortDescription: commands.ShortDescriptions[name],
		URL:              "https://github.com/docker-cghistory/docker-cghistory",
	}
	// docker probes every plugin for metadata on each `docker --help` and
	// `docker info`. Answer the probe before building a docker CLI and a
	// cobra tree (plugin.Run's path), which costs several milliseconds; the
	// JSON is the same metadata.Metadata that plugin.Run would print.
	if len(os.Args) == 2 && os.Args[1] == metadata.MetadataSubcommandName {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "     ")
		if err := enc.Encode(meta); err != nil {
			os.Exit(1)
		}
		return
	}
	plugin.Run(func(dockerCLI command.Cli) *cobra.Command {
		return commands.New(name, dockerCLI)
	}, meta)
}

// commandName maps the binary's name (docker picks it from the plugin file,
// symlinks unresolved) to its command; anything unknown is cghistory.
func commandName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	switch n := strings.TrimPrefix(base, metadata.NamePrefix); n {
	case commands.DiffName, commands.PinName:
		return n
	}
	return commands.HistoryName
}
