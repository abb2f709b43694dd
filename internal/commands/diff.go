package commands

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// Exit codes of docker cgdiff.
const (
	exitDifferent = 1   // --exit-code / --exit-on found what it gates on
	exitError     = 2   // the comparison failed
	exitUsage     = 125 // bad flags, as docker exits for them
)

// diffOptions are cgdiff's flags.
type diffOptions struct {
	from, to string
	config.DiffFlags
}

// config resolves the run's configuration once; a bad flag exits 125, a
// bad setting beneath the flags 2.
func (opts diffOptions) config(dockerCLI command.Cli) (*config.Diff, error) {
	cfg, err := config.ResolveDiff(opts.from, opts.to, opts.DiffFlags, config.Env{Docker: dockerCLI.ConfigFile()})
	if _, usage := errors.AsType[config.UsageError](err); usage {
		return nil, cli.StatusError{StatusCode: exitUsage, Status: err.Error()}
	}
	if err != nil {
		return nil, cli.StatusError{StatusCode: exitError, Status: err.Error()}
	}
	return cfg, nil
}

func newDiffCommand(dockerCLI command.Cli) *cobra.Command {
	var opts diffOptions
	cmd := &cobra.Command{
		Use:   "cgdiff [OPTIONS] FROM [TO]",
		Short: ShortDescriptions[DiffName],
		Long: `Compare two builds of an image: packages added, removed and changed, CVEs fixed
and introduced, configuration and size. FROM and TO are image references (tag,
@digest, tag@digest; bare names expand as for cghistory). IMAGE~N is the build N
steps before the tag's current one; with one argument, IMAGE~1 is compared with
IMAGE.

Packages come from the image's SPDX SBOM attestation, or else from its apk or
dpkg database (--source). Vulnerabilities come from the Wolfi / Chainguard /
Alpine security database (--vulns secdb) or grype.

Exit codes: 0 success (and nothing gated on changed), 1 a change gated by
--exit-code or --exit-on, 2 an error, 125 bad usage.`,
		Example: `  docker cgdiff nginx                         # previous build → current build
  docker cgdiff python~3 python               # three builds ago → now
  docker cgdiff --format markdown go@sha256:… go:latest
  docker cgdiff --exit-on vulnerability nginx~1 nginx`,
		Args:              cli.RequiresRangeArgs(1, 2),
		ValidArgsFunction: completeImages(dockerCLI, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.from = args[0]
			if len(args) == 2 {
				opts.to = args[1]
			}
			cfg, err := opts.config(dockerCLI)
			if err != nil {
				return err
			}
			return runDiff(cmd.Context(), dockerCLI, cfg)
		},
		DisableFlagsInUseLine: true,
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.Platform, "platform", "", `Platform to compare, "os/arch[/variant]" (default linux/`+runtime.GOARCH+`)`)
	flags.StringVar(&opts.Source, "source", inventory.SourceAuto, `Package source: "auto" (SBOM, else layers), "sbom" or "layers"`)
	flags.StringSliceVarP(&opts.Types, "type", "t", nil, `Package types to compare, e.g. "apk,deb", or "all" (default: OS packages)`)
	flags.StringVar(&opts.Vulns, "vulns", "secdb", `Vulnerability source: "secdb", "grype" or "none"`)
	flags.StringVar(&opts.SecDB, "secdb", "", "Security database URL (default: by distro; also CGHISTORY_SECDB)")
	flags.StringVar(&opts.Format, "format", "", `Format output: "table", "json" (the Diff API's shape), "markdown" or a Go template`)
	flags.BoolVar(&opts.ExitCode, "exit-code", false, "Exit 1 when anything differs")
	flags.StringSliceVar(&opts.ExitOn, "exit-on", nil, `Exit 1 when these kinds changed: "package", "vulnerability" (introduced), "config"`)
	addRegistryFlags(flags, &opts.Registry)
	addVerifyFlags(flags, &opts.Verify)
	_ = cmd.RegisterFlagCompletionFunc("platform", completePlatforms(dockerCLI))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json", "markdown"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runDiff(ctx context.Context, dockerCLI command.Cli, cfg *config.Diff) error {
	dopts := cfg.Options
	d, err := depsFor(dockerCLI, cfg.Common)
	if err != nil {
		return cli.StatusError{StatusCode: exitError, Status: err.Error()}
	}
	iv, err := d.verifier(cfg.Verify)
	if err != nil {
		return cli.StatusError{StatusCode: exitUsage, Status: err.Error()}
	}
	progress := output.NewProgress(d.term, dockerCLI.Err())
	differ := d.differ(progress)
	switch {
	case iv != nil:
		differ.Inventory.Verify, differ.Inventory.VerifyKey = iv, iv.key()
		if dopts.Source == inventory.SourceLayers {
			return cli.StatusError{StatusCode: exitUsage, Status: "--verify checks SBOM attestations: it does not go with --source layers"}
		}
		dopts.Source = inventory.SourceSBOM
	case dopts.Source != inventory.SourceLayers:
		// Without --verify, SBOMs that have a default policy (Chainguard's
		// public images) are still checked: one that does not verify is a
		// warning, and the layers are read instead.
		soft, _ := d.verifier(verifyOptions{Enabled: true})
		soft.soft = true
		differ.Inventory.Verify, differ.Inventory.VerifyKey, differ.Inventory.Soft = soft, "soft:"+soft.key(), true
	}
	var r *imagediff.Result
	err = withTimeout(ctx, cfg.Common.Timeout, func(ctx context.Context) (err error) {
		r, err = differ.Diff(ctx, cfg.From, cfg.To, dopts)
		return err
	})
	progress.Done()
	if err != nil {
		return cli.StatusError{StatusCode: exitError, Status: err.Error()}
	}
	if err := output.WriteDiff(dockerCLI.Out(), r, output.DiffOptions{Format: cfg.Format, Terminal: d.term}); err != nil {
		return cli.StatusError{StatusCode: exitError, Status: err.Error()}
	}
	if reason := gate(r, cfg); reason != "" {
		return cli.StatusError{StatusCode: exitDifferent, Status: reason}
	}
	return nil
}

// gate says why --exit-code / --exit-on fire, or "".
func gate(r *imagediff.Result, cfg *config.Diff) string {
	var hits []string
	if cfg.ExitCode && !r.Empty() {
		hits = append(hits, "the images differ")
	}
	for _, k := range cfg.ExitOn {
		switch {
		case k == "package" && len(r.Added)+len(r.Removed)+len(r.Changed) > 0:
			hits = append(hits, "packages changed")
		case k == "vulnerability" && len(r.VulnsAdded) > 0:
			hits = append(hits, fmt.Sprintf("%d vulnerabilities introduced", len(r.VulnsAdded)))
		case k == "config" && len(r.Config) > 0:
			hits = append(hits, "config changed")
		}
	}
	if len(hits) == 0 {
		return ""
	}
	return strings.Join(hits, "; ")
}
