package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/kinds"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker-cghistory/docker-cghistory/internal/policy"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/completion"
	"github.com/spf13/cobra"
)

type pinOptions struct {
	paths    []string
	update   bool
	at       string
	cooldown string
	check    bool
	dryRun   bool
	platform string
	exclude  []string
	kinds    []string
	files    []string // .cgpin.yaml's files: as KIND=GLOB
	format   string
	quiet    bool
	explain  bool
	jobs     int

	onlyIfChanged  string
	fixes          []string
	cooldownStrict bool
	ignore         []string

	showConfig  bool
	skipUnknown bool
	changed     func(flag string) bool // the flags given on the command line
	sources     map[string]string      // where each policy value came from

	verify verifyOptions

	outdated   bool
	staleAfter string
	exitCode   bool
	maxAge     string
	maxBehind  int
	registry   registryOptions
	now        func() time.Time
}

func newPinCommand(dockerCLI command.Cli) *cobra.Command {
	var opts pinOptions
	cmd := &cobra.Command{
		Use:   "cgpin [OPTIONS] [PATH...]",
		Short: ShortDescriptions[PinName],
		Long: `Pin the image references in Dockerfiles, Compose files, Kubernetes manifests,
Kustomize, Helm values, GitHub Actions, GitLab CI, CircleCI and dev container
files to digests, in place: "python:3.12" becomes "python:3.12@sha256:…",
keeping the tag that says what you meant.

PATH is a file or a directory (default ./Dockerfile); directories are searched
for every kind by its file name (and YAML or JSON files with apiVersion and kind
as Kubernetes), skipping vendored and hidden directories other than .github,
.circleci, .devcontainer and .gitlab; --kind keeps only some kinds. Stage names,
scratch, Compose services that build their image, and values with variables or
templates are left alone and reported. Multi-platform images are pinned by
their index digest. Every file is written atomically, only the reference's bytes
change, and a run that cannot resolve every reference writes nothing.`,
		Example: `  docker cgpin                          # pin ./Dockerfile
  docker cgpin --update .               # move every tag@digest pin to the tag's current build
  docker cgpin --at 2026-11-01 .        # roll back to the builds of that day
  docker cgpin --update --cooldown 3d . # only builds that have been out 3 days
  docker cgpin --check .                # CI: fail when something is unpinned
  docker cgpin --kind compose,kubernetes deploy/
  docker cgpin --diff services/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths, opts.changed = args, cmd.Flags().Changed
			return runPin(cmd.Context(), dockerCLI, opts)
		},
		DisableFlagsInUseLine: true,
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.update, "update", false, "Also move existing tag@digest pins to the tag's current digest")
	flags.StringVar(&opts.at, "at", "", `Pin to the build each tag pointed to at this time (RFC 3339, a date, or an age such as "7d"); implies --update`)
	flags.StringVar(&opts.cooldown, "cooldown", "", `Pin only to builds that have been out this long (e.g. "3d")`)
	flags.BoolVar(&opts.check, "check", false, "Write nothing; exit 1 when anything would change")
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Write nothing; print a unified diff of what would change")
	flags.BoolVar(&opts.dryRun, "diff", false, "Same as --dry-run")
	flags.StringVar(&opts.platform, "platform", "", `Pin this platform's image digest instead of the index, "os/arch[/variant]"`)
	flags.StringArrayVar(&opts.exclude, "exclude", nil, "Skip files and directories matching this glob (repeatable)")
	flags.StringSliceVar(&opts.kinds, "kind", nil, "Only these kinds of file ("+strings.Join(kindNames(), ", ")+"); KIND=GLOB: the files GLOB matches are of KIND")
	flags.StringVar(&opts.format, "format", "", `Format the list of changes: "json", "markdown" or a Go template`)
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Print nothing but errors")
	flags.BoolVar(&opts.explain, "explain", false, `Summarise what each moved digest changes (packages, fixed CVEs); "--format markdown" for a pull request`)
	flags.IntVarP(&opts.jobs, "jobs", "j", 8, "Resolve up to this many references at once")
	flags.StringVar(&opts.onlyIfChanged, "only-if-changed", "", `Move a pin only when the newer build changed its "packages" (or config), or fixes a CVE ("vulns"); implies --update`)
	flags.Lookup("only-if-changed").NoOptDefVal = policy.ChangedPackages
	flags.StringArrayVar(&opts.fixes, "fixes", nil, "Move each pin that has this CVE to the oldest build that fixes it (repeatable); implies --update")
	flags.BoolVar(&opts.cooldownStrict, "cooldown-strict", false, "Never take a build younger than --cooldown, even one that fixes a CVE of the pinned build")
	addVerifyFlags(flags, &opts.verify)
	flags.BoolVar(&opts.skipUnknown, "skip-unknown", false, "Pass over named YAML and JSON files that are no kind cgpin knows, instead of failing (for hooks)")
	flags.BoolVar(&opts.showConfig, "show-config", false, "Print the effective policy (flags, "+policy.FileName+", defaults) and where each value came from")
	flags.BoolVar(&opts.outdated, "outdated", false, "Write nothing; report how far each pinned reference is behind its tag (builds, days, packages, fixed CVEs)")
	flags.StringVar(&opts.staleAfter, "stale-after", "30d", "With --outdated, call a tag stale after this long without a build")
	flags.BoolVar(&opts.exitCode, "exit-code", false, "With --outdated, exit 1 when a pin is behind (beyond --max-age / --max-behind)")
	flags.StringVar(&opts.maxAge, "max-age", "", `With --outdated --exit-code, tolerate pins behind for less than this long (e.g. "14d")`)
	flags.IntVar(&opts.maxBehind, "max-behind", 0, "With --outdated --exit-code, tolerate pins up to this many builds behind")
	flags.StringArrayVar(&opts.ignore, "ignore-image", nil, `Leave references matching this glob alone, e.g. "cgr.dev/chainguard/*:latest-dev"; "!GLOB" takes them back (repeatable)`)
	addRegistryFlags(flags, &opts.registry)
	_ = cmd.RegisterFlagCompletionFunc("platform", completion.Platforms())
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(kindNames(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// errPending makes --check exit non-zero.
var errPending = errors.New("not pinned")

func runPin(ctx context.Context, dockerCLI command.Cli, opts pinOptions) error {
	if err := opts.applyPolicyFile(); err != nil {
		return err
	}
	if opts.showConfig {
		return output.WritePolicy(dockerCLI.Out(), opts.policyValues())
	}
	d, err := newDeps(dockerCLI, opts.registry)
	if err != nil {
		return err
	}
	resolver, err := opts.resolver(d)
	if err != nil {
		return err
	}
	kinds, err := pin.ParseKinds(opts.kinds)
	if err != nil {
		return err
	}
	overrides, err := pin.ParseOverrides(opts.kinds) // the command line's first: they win
	if err != nil {
		return err
	}
	for _, kv := range opts.files { // checked when the policy file was read
		k, glob, _ := strings.Cut(kv, "=")
		o, err := pin.NewOverride(k, glob)
		if err != nil {
			return err
		}
		overrides = append(overrides, o)
	}
	files, err := pin.CollectKinds(opts.paths, opts.exclude, kinds, overrides)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no Dockerfiles found in %v, nor any other kind of file that names images", opts.paths)
	}
	if opts.outdated {
		return runOutdated(ctx, dockerCLI, d, resolver, files, opts)
	}
	iv, err := d.verifier(opts.verify)
	if err != nil {
		return err
	}
	report := output.PinReport{Mode: opts.mode(), Update: opts.update}
	err = withTimeout(ctx, opts.registry.timeout, func(ctx context.Context) (err error) {
		popts := pin.Options{Update: opts.update, Jobs: opts.jobs, Ignore: opts.ignore, PinsOnly: len(opts.fixes) > 0, SkipUnknown: opts.skipUnknown}
		if iv != nil {
			popts.Verify, popts.VerifyPinned = iv, opts.check
		}
		if opts.needsChooser(resolver) {
			popts.Chooser = &policy.Chooser{Registry: d.client, History: d.history(), Differ: d.differ(nil), Upstream: resolver.Upstream,
				Diff: summaryOptions(resolver.Platform), Platform: resolver.Platform, OnlyIfChanged: opts.onlyIfChanged,
				Fixes: opts.fixes, Cooldown: resolver.Cooldown, CooldownStrict: opts.cooldownStrict}
		}
		if report.Plan, err = pin.Build(ctx, files, resolver, popts); err != nil || !opts.explain {
			return err
		}
		report.Explained, err = d.differ(nil).Explain(ctx, pairs(report.Plan.Changes()), summaryOptions(resolver.Platform))
		return err
	})
	if err != nil {
		return err
	}
	if report.Mode == output.PinWrite {
		if err := report.Plan.Write(); err != nil {
			return err
		}
	}
	out, errOut := io.Writer(dockerCLI.Out()), io.Writer(dockerCLI.Err())
	if opts.quiet {
		out, errOut = io.Discard, io.Discard
	}
	if err := output.WritePin(out, errOut, opts.format, report); err != nil {
		return err
	}
	if n := len(report.Plan.Changes()); opts.check && n > 0 {
		return fmt.Errorf("%d %s %w", n, plural(n, "reference is", "references are"), errPending)
	}
	return nil
}

// errOutdated makes --outdated --exit-code exit non-zero.
var errOutdated = errors.New("behind their tags")

func runOutdated(ctx context.Context, dockerCLI command.Cli, d *deps, r *pin.RegistryResolver, files []pin.Source, opts pinOptions) error {
	stale, err := history.ParseDuration(opts.staleAfter)
	if err != nil {
		return fmt.Errorf("--stale-after: %w", err)
	}
	var maxAge time.Duration
	if opts.maxAge != "" {
		if maxAge, err = history.ParseDuration(opts.maxAge); err != nil {
			return fmt.Errorf("--max-age: %w", err)
		}
	}
	refs, notes, err := pin.Scan(files, pin.Options{Ignore: opts.ignore, Jobs: opts.jobs, SkipUnknown: opts.skipUnknown})
	if err != nil {
		return err
	}
	c := &policy.Chooser{Registry: d.client, History: d.history(), Differ: d.differ(nil), Diff: summaryOptions(r.Platform), Platform: r.Platform, Upstream: r.Upstream}
	var lags []policy.Lag
	err = withTimeout(ctx, opts.registry.timeout, func(ctx context.Context) (err error) {
		lags, err = c.Outdated(ctx, refs, policy.OutdatedOptions{StaleAfter: stale, Now: r.Now(), Jobs: opts.jobs})
		return err
	})
	if err != nil {
		return err
	}
	if !opts.quiet {
		for _, n := range notes {
			fmt.Fprintf(dockerCLI.Err(), "%s:%d: %s: left alone: %s\n", n.File, n.Line, n.Ref, n.Reason)
		}
		if err := output.WriteOutdated(dockerCLI.Out(), opts.format, r.Now(), lags); err != nil {
			return err
		}
	}
	overdue := 0
	for _, l := range lags {
		if l.Overdue(r.Now(), maxAge, opts.maxBehind) {
			overdue++
		}
	}
	if opts.exitCode && overdue > 0 {
		return fmt.Errorf("%d %s %w", overdue, plural(overdue, "pin is", "pins are"), errOutdated)
	}
	return nil
}

// resolver turns the flags into the policy that chooses each digest.
func (opts *pinOptions) resolver(d *deps) (*pin.RegistryResolver, error) {
	now := time.Now
	if opts.now != nil {
		now = opts.now
	}
	r := &pin.RegistryResolver{Registry: d.client, History: d.history(), Now: now, Mirrors: d.mirrors}
	var err error
	if opts.at != "" {
		if r.At, err = history.ParseTime(opts.at, now()); err != nil {
			return nil, fmt.Errorf("--at: %w", err)
		}
		opts.update = true // rolling back moves existing pins
	}
	if opts.cooldown != "" {
		if r.Cooldown, err = history.ParseDuration(opts.cooldown); err != nil {
			return nil, fmt.Errorf("--cooldown: %w", err)
		}
	}
	if r.Platform, err = parsePlatform(opts.platform); err != nil {
		return nil, err
	}
	switch opts.onlyIfChanged {
	case "", policy.ChangedPackages, policy.ChangedVulns:
	default:
		return nil, fmt.Errorf("--only-if-changed=%s: want packages or vulns", opts.onlyIfChanged)
	}
	for _, id := range opts.fixes {
		if !strings.HasPrefix(id, "CVE-") && !strings.HasPrefix(id, "GHSA-") {
			return nil, fmt.Errorf("--fixes %q: want a CVE or GHSA identifier, e.g. CVE-2024-0001", id)
		}
	}
	for _, g := range opts.ignore {
		if _, err := path.Match(strings.TrimPrefix(g, "!"), ""); err != nil {
			return nil, fmt.Errorf("--ignore-image %q: %w", g, err)
		}
	}
	if opts.onlyIfChanged != "" || len(opts.fixes) > 0 {
		opts.update = true // these are update policies
	}
	if len(opts.fixes) > 0 && (opts.onlyIfChanged != "" || opts.at != "") {
		return nil, fmt.Errorf("--fixes chooses the build itself: it does not go with --only-if-changed or --at")
	}
	if opts.jobs < 1 {
		return nil, fmt.Errorf("--jobs must be at least 1")
	}
	return r, nil
}

// needsChooser says whether an update policy judges the moves.
func (opts pinOptions) needsChooser(r *pin.RegistryResolver) bool {
	return opts.update && (opts.onlyIfChanged != "" || len(opts.fixes) > 0 || (r.Cooldown > 0 && !opts.cooldownStrict && r.At.IsZero()))
}

// mode is what the run does with its plan.
func (opts pinOptions) mode() output.PinMode {
	switch {
	case opts.dryRun:
		return output.PinDryRun
	case opts.check:
		return output.PinCheck
	}
	return output.PinWrite
}

// pairs are the builds each change moves between; nil for a first pin.
func pairs(changes []pin.Change) []*imagediff.Pair {
	out := make([]*imagediff.Pair, len(changes))
	for i, c := range changes {
		if from, ok := c.Previous(); ok {
			out[i] = &imagediff.Pair{From: from, To: c.Next()}
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// kindNames are the --kind values.
func kindNames() []string {
	out := make([]string, len(kinds.Table))
	for i, k := range kinds.Names() {
		out[i] = string(k)
	}
	return out
}

// policyFlags map the policy file's keys to the flags they stand for.
var policyFlags = map[string]string{"ignore-images": "ignore-image", "kinds": "kind"}

// applyPolicyFile reads .cgpin.yaml (found from the paths up to the
// repository root) into the options whose flags were not given.
func (opts *pinOptions) applyPolicyFile() error {
	opts.sources = map[string]string{}
	path, err := policy.FindFile(opts.paths)
	if err != nil || path == "" {
		return err
	}
	f, err := policy.LoadFile(path)
	if err != nil {
		return err
	}
	for key, s := range f.Settings {
		flag := key
		if pf, ok := policyFlags[key]; ok {
			flag = pf
		}
		if opts.changed != nil && opts.changed(flag) && key != "registry-map" {
			continue // flags win (a registry map merges: --registry-map wins per prefix)
		}
		v := s.Values[0]
		switch key {
		case "cooldown":
			opts.cooldown = v
		case "stale-after":
			opts.staleAfter = v
		case "max-age":
			opts.maxAge = v
		case "cooldown-strict":
			opts.cooldownStrict, _ = strconv.ParseBool(v)
		case "update":
			opts.update, _ = strconv.ParseBool(v)
		case "max-behind":
			opts.maxBehind = atoi(v)
		case "jobs":
			opts.jobs = atoi(v)
		case "only-if-changed":
			opts.onlyIfChanged = v
		case "platform":
			opts.platform = v
		case "ignore-images":
			opts.ignore = s.Values
		case "exclude":
			opts.exclude = s.Values
		case "kinds":
			opts.kinds = s.Values
		case "files":
			opts.files = s.Values
		case "registry-map":
			opts.registry.policyMirrors, opts.registry.policyMirrorsSource = s.Values, fmt.Sprintf("%s:%d", path, s.Line)
		case "verify":
			opts.verify.verify, _ = strconv.ParseBool(v)
		case "certificate-identity":
			opts.verify.identity = v
		case "certificate-identity-regexp":
			opts.verify.identityRegexp = v
		case "certificate-oidc-issuer":
			opts.verify.issuer = v
		case "certificate-oidc-issuer-regexp":
			opts.verify.issuerRegexp = v
		case "trusted-root":
			opts.verify.trustedRoot = v
		case "key":
			opts.verify.key = v
		}
		opts.sources[key] = fmt.Sprintf("%s:%d", path, s.Line)
	}
	return nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// policyValues lists the effective policy and each value's source.
func (opts *pinOptions) policyValues() []output.PolicyValue {
	values := map[string]string{
		"cooldown": opts.cooldown, "cooldown-strict": strconv.FormatBool(opts.cooldownStrict), "exclude": strings.Join(opts.exclude, ", "),
		"ignore-images": strings.Join(opts.ignore, ", "), "jobs": strconv.Itoa(opts.jobs), "kinds": strings.Join(opts.kinds, ", "), "files": strings.Join(opts.files, ", "),
		"max-age": opts.maxAge, "max-behind": strconv.Itoa(opts.maxBehind), "only-if-changed": opts.onlyIfChanged,
		"platform": opts.platform, "stale-after": opts.staleAfter, "update": strconv.FormatBool(opts.update),
		"registry-map": strings.Join(append(append([]string{}, opts.registry.policyMirrors...), opts.registry.mirrors...), ", "),
		"verify":       strconv.FormatBool(opts.verify.verify), "certificate-identity": opts.verify.identity,
		"certificate-identity-regexp": opts.verify.identityRegexp, "certificate-oidc-issuer": opts.verify.issuer,
		"certificate-oidc-issuer-regexp": opts.verify.issuerRegexp, "trusted-root": opts.verify.trustedRoot, "key": opts.verify.key,
	}
	var out []output.PolicyValue
	for _, key := range policy.Keys() {
		flag := key
		if pf, ok := policyFlags[key]; ok {
			flag = pf
		}
		src := "default"
		switch {
		case opts.changed != nil && opts.changed(flag):
			src = "--" + flag
		case opts.sources[key] != "":
			src = opts.sources[key]
		}
		out = append(out, output.PolicyValue{Key: key, Value: values[key], Source: src})
	}
	return out
}
