// Command cghistory-full is the docker CLI plugin's full binary: the small
// front (plugin/front), installed as docker-cghistory, docker-cgdiff and
// docker-cgpin, hands every command to it under the name it was run as, and
// it picks its command from that name. Run under any other name
// (pre-commit's golang hooks name it "plugin", the image
// /usr/local/bin/cghistory) it takes the command from its first argument, as
// multi-call binaries do: "plugin cgpin --check Dockerfile".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/commands"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/debug"
	"github.com/docker/cli/cli/flags"
	"go.opentelemetry.io/otel"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if name, ok := standaloneCommand(os.Args); ok {
		os.Exit(runStandalone(name, os.Args[2:]))
	}
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
	// The hook after a docker build answers from local files only, and
	// needs no docker CLI either: docker waits for it.
	if len(os.Args) == 4 && os.Args[1] == commands.HistoryName && os.Args[2] == metadata.HookSubcommandName {
		_ = commands.Hook(os.Stdout, os.Args[3])
		return
	}
	if len(os.Args) == 2 && os.Args[1] == metadata.MetadataSubcommandName {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "     ")
		if err := enc.Encode(meta); err != nil {
			os.Exit(1)
		}
		return
	}
	os.Exit(runPlugin(name, meta))
}

// runPlugin is docker/cli's plugin.Run, but prints the error it ends on
// through output.Error: registry messages reach it raw (through
// go-containerregistry's transport errors), and the terminal must not take
// their control characters for commands.
func runPlugin(name string, meta metadata.Metadata) int {
	otel.SetErrorHandler(debug.OTELErrorHandler)
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		return exitStatus(os.Stderr, err)
	}
	return exitStatus(dockerCLI.Err(), plugin.RunPlugin(dockerCLI, commands.New(name, dockerCLI), meta))
}

// exitStatus prints err (escaped) and returns the exit code for it: a
// cli.StatusError's code (never 0), else 1; 0 for nil.
func exitStatus(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	if msg := output.Error(err); msg != "" {
		fmt.Fprintln(w, msg)
	}
	var status cli.StatusError
	if errors.As(err, &status) && status.StatusCode != 0 {
		return status.StatusCode
	}
	return 1
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

// standaloneCommand reports a run outside docker: a binary not named
// docker-* whose first argument names a command.
func standaloneCommand(args []string) (string, bool) {
	if len(args) < 2 || strings.HasPrefix(filepath.Base(args[0]), metadata.NamePrefix) {
		return "", false
	}
	switch args[1] {
	case commands.HistoryName, commands.DiffName, commands.PinName:
		return args[1], true
	}
	return "", false
}

// runStandalone runs a command without the docker CLI around it, with the
// same docker config (DOCKER_CONFIG, credential helpers) and exit codes.
func runStandalone(name string, args []string) int {
	commands.Version = version
	dockerCLI, err := command.NewDockerCli()
	if err == nil {
		err = dockerCLI.Initialize(flags.NewClientOptions())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docker-cghistory:", output.Error(err))
		return 1
	}
	cmd := commands.New(name, dockerCLI)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return exitStatus(dockerCLI.Err(), cmd.ExecuteContext(context.Background()))
}
