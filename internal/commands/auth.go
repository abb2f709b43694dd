package commands

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/formatter"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
)

type authOptions struct {
	targets  []string
	format   string
	registry registryOptions
}

func newAuthCommand(dockerCLI command.Cli) *cobra.Command {
	var opts authOptions
	cmd := &cobra.Command{
		Use:   "auth [OPTIONS] [REGISTRY | IMAGE]...",
		Short: "Show which credentials docker uses for a registry, and whether they work",
		Long: `Show the credential source docker would use for each registry (DOCKER_AUTH_CONFIG,
credHelpers, credsStore, auths or anonymous) and the username, never the secret.
For an IMAGE, perform a real token exchange for pull access and fetch its
manifest. Without arguments, check every registry in config.json and cgr.dev.
Exits non-zero when any check fails.`,
		Example: `  docker cghistory auth
  docker cghistory auth cgr.dev/acme.com/python
  docker cghistory auth --format json nginx`,
		Args: cli.RequiresMinArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.targets = args
			return runAuth(cmd.Context(), dockerCLI, opts)
		},
		DisableFlagsInUseLine: true,
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.format, "format", "", `Format output: "table", "json" or a Go template`)
	addRegistryFlags(flags, &opts.registry)
	return cmd
}

// errAccess makes the command exit non-zero after printing its report.
var errAccess = errors.New("some credential checks failed")

func runAuth(ctx context.Context, dockerCLI command.Cli, opts authOptions) error {
	targets := opts.targets
	if len(targets) == 0 {
		targets = configuredRegistries(dockerCLI)
	}
	d, err := newDeps(dockerCLI, opts.registry)
	if err != nil {
		return err
	}
	var regs []name.Registry
	var refs []name.Reference
	for _, t := range targets {
		reg, r, err := d.refs.Target(t)
		if err != nil {
			return err
		}
		regs, refs = append(regs, reg), append(refs, r)
		// A mirror's image: check its upstream's credentials too.
		if r != nil {
			if up, ok := d.mirrors.Upstream(r.Context()); ok {
				regs, refs = append(regs, up.Registry), append(refs, up.Tag(r.Identifier()))
			}
		}
	}
	rows := make([]registry.Access, len(regs))
	_ = withTimeout(ctx, opts.registry.Timeout, func(ctx context.Context) error {
		for i := range regs {
			rows[i] = d.client.CheckAccess(ctx, regs[i], refs[i])
		}
		return nil
	})
	err = output.WriteAccess(formatter.Context{
		Output: dockerCLI.Out(),
		Format: output.Format(opts.format, false, output.AccessTableFormat, ""),
		Trunc:  true,
	}, time.Now(), rows)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !r.OK {
			return errAccess
		}
	}
	return nil
}

// configuredRegistries lists the registries config.json names, plus cgr.dev.
func configuredRegistries(dockerCLI command.Cli) []string {
	cf := dockerCLI.ConfigFile()
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		h = ref.Hostname(h)
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	var keys []string
	for k := range cf.AuthConfigs {
		keys = append(keys, k)
	}
	for k := range cf.CredentialHelpers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add(k)
	}
	add("cgr.dev")
	return out
}
