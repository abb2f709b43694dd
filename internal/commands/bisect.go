package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/bisect"
	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker/cli/cli/command"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

type bisectOptions struct {
	image        string
	command      []string
	good, bad    string
	goodFromFile string
	platform     string
	noCheckEnds  bool
	checkEnds    bool
	stepTimeout  time.Duration
	format       string
	log, replay  string
	dryRun       bool
	registry     registryOptions
}

func newBisectCommand(dockerCLI command.Cli) *cobra.Command {
	var opts bisectOptions
	cmd := &cobra.Command{
		Use:   "bisect [OPTIONS] IMAGE[:TAG] -- COMMAND [ARG...]",
		Short: "Find the first build of a tag that breaks a command, and what changed in it",
		Long: `Run COMMAND on builds of the tag between a good and a bad build, halving the
range as git bisect run does, and print the first bad build, the last good one,
and what changed between them (as docker cgdiff).

--good and --bad take a digest, IMAGE~N, or a time (RFC 3339, a date, an age
such as 7d: the build current then); --bad defaults to the tag's current build.
COMMAND runs directly (no shell) with CGHISTORY_IMAGE (repo:tag@sha256:…),
CGHISTORY_DIGEST, CGHISTORY_UPDATED and CGHISTORY_STEP set; "{}" in an argument
becomes the build's reference. Its exit status: 0 good, 125 skip, 1-127 bad,
128 or more (or a signal) stops the bisection.`,
		Example: `  docker cghistory bisect python --good 14d -- \
      sh -c 'docker build --build-arg BASE={} -t app . && docker run --rm app ./test'
  docker cghistory bisect nginx --good-from-file Dockerfile --dry-run
  docker cghistory bisect nginx --good nginx~8 --log bisect.log -- ./test.sh
  docker cghistory bisect nginx --good nginx~8 --replay bisect.log --log bisect.log -- ./test.sh`,
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if len(args) == 0 || dash == 0 {
				return errors.New(`"docker cghistory bisect" needs an image: docker cghistory bisect IMAGE[:TAG] --good REF -- COMMAND [ARG...]`)
			}
			if dash < 0 && len(args) > 1 || dash > 1 {
				return errors.New("put the command after --: docker cghistory bisect IMAGE[:TAG] --good REF -- COMMAND [ARG...]")
			}
			return nil
		},
		ValidArgsFunction: completeImages(dockerCLI, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image, opts.command = args[0], args[1:]
			return runBisect(cmd.Context(), dockerCLI, opts)
		},
		DisableFlagsInUseLine: true,
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.good, "good", "", "A build known good: a digest, IMAGE~N or a time (required unless --good-from-file)")
	flags.StringVar(&opts.bad, "bad", "", "A build known bad (default: the tag's current build)")
	flags.StringVar(&opts.goodFromFile, "good-from-file", "", "The good build is this file's pin of the image (a Dockerfile or any file cgpin reads)")
	flags.StringVar(&opts.platform, "platform", "", `Test each build's image for this platform, "os/arch[/variant]"; builds without one are skipped`)
	flags.BoolVar(&opts.checkEnds, "check-ends", true, "First run the command on the good and the bad build")
	flags.BoolVar(&opts.noCheckEnds, "no-check-ends", false, "Do not check the good and the bad build first")
	flags.DurationVar(&opts.stepTimeout, "step-timeout", 0, "Count a run that takes longer as a skip (0: no limit)")
	flags.StringVar(&opts.format, "format", "", `Format output: "table", "json" or "markdown"`)
	flags.StringVar(&opts.log, "log", "", "Append each verdict to this file as it is known")
	flags.StringVar(&opts.replay, "replay", "", "Reuse the verdicts of a --log file (continue an interrupted bisection)")
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Print the candidates and the order the search would try them; run nothing")
	addRegistryFlags(flags, &opts.registry)
	// A bisection runs the user's command many times: no overall limit
	// unless asked for.
	_ = flags.Set("timeout", "0")
	flags.Lookup("timeout").DefValue = "0s"
	_ = cmd.RegisterFlagCompletionFunc("platform", completePlatforms(dockerCLI))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json", "markdown"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runBisect(ctx context.Context, dockerCLI command.Cli, opts bisectOptions) error {
	if !slices.Contains([]string{"", "table", "json", "markdown"}, opts.format) {
		return fmt.Errorf("--format %q: want table, json or markdown", opts.format)
	}
	if (opts.good == "") == (opts.goodFromFile == "") {
		return errors.New("name the last good build with --good REF or --good-from-file FILE (one of them)")
	}
	if opts.stepTimeout < 0 {
		return errors.New("--step-timeout must not be negative")
	}
	if len(opts.command) == 0 && !opts.dryRun {
		return errors.New("no command to run: docker cghistory bisect IMAGE[:TAG] --good REF -- COMMAND [ARG...]")
	}
	if err := bisect.Check(opts.command); err != nil && !opts.dryRun {
		return err
	}
	platform, err := config.ParsePlatform(opts.platform)
	if err != nil {
		return err
	}
	d, err := newDeps(dockerCLI, opts.registry)
	if err != nil {
		return err
	}
	tag, err := d.refs.Tag(opts.image)
	if err != nil {
		return err
	}
	req := bisect.Request{Tag: tag, Good: opts.good, Bad: opts.bad, Command: opts.command, Platform: platform,
		CheckEnds: opts.checkEnds && !opts.noCheckEnds, StepTimeout: opts.stepTimeout, DryRun: opts.dryRun, Now: time.Now()}
	if up, mirrored := d.upstream(tag); mirrored {
		req.Upstream = &up
	}
	if opts.goodFromFile != "" {
		if req.GoodDigest, err = pinnedIn(ctx, opts.goodFromFile, tag); err != nil {
			return err
		}
	}
	if opts.replay != "" {
		if req.Known, err = bisect.ReadLog(opts.replay); err != nil {
			return fmt.Errorf("--replay: %w", err)
		}
	}
	if opts.log != "" && !opts.dryRun {
		f, err := os.OpenFile(opts.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("--log: %w", err)
		}
		defer f.Close()
		fmt.Fprintf(f, "# docker cghistory bisect %s, %s\n", tag, time.Now().UTC().Format(time.RFC3339))
		req.Log = f
	}
	errOut := dockerCLI.Err()
	req.OnStep = func(st bisect.Step) { fmt.Fprintln(errOut, output.BisectStep(st)) }
	if !opts.dryRun {
		dopts := d.summary(platform)
		req.Diff = &dopts
	}
	// The command gets the process's own files (a terminal stays a
	// terminal, and no copying goroutine waits on stdin after it exits);
	// its output goes to stdout, but not into a json or markdown document.
	cmdOut := os.Stdout
	if opts.format == "json" || opts.format == "markdown" {
		cmdOut = os.Stderr
	}
	b := &bisect.Bisector{History: d.history(), Registry: d.client, Differ: d.differ(nil),
		Runner: bisect.ExecRunner{Stdin: os.Stdin, Stdout: cmdOut, Stderr: os.Stderr}}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var res *bisect.Result
	err = withTimeout(ctx, opts.registry.Timeout, func(ctx context.Context) (err error) {
		res, err = b.Bisect(ctx, req)
		return err
	})
	if err != nil {
		if res != nil && len(res.Steps) > 0 {
			resume(errOut, opts, res)
		}
		return err
	}
	if res.DiffError != "" && opts.format == "json" {
		fmt.Fprintf(errOut, "WARNING: no diff of the two builds: %s\n", res.DiffError)
	}
	return output.WriteBisect(dockerCLI.Out(), res, output.BisectOptions{Format: opts.format, Terminal: d.term})
}

// resume tells how to continue a bisection that stopped: its verdicts are
// in the --log file, or, without one, in a new file written now.
func resume(w io.Writer, opts bisectOptions, res *bisect.Result) {
	log := opts.log
	if log == "" {
		f, err := os.CreateTemp("", "cghistory-bisect-*.log")
		if err != nil {
			return
		}
		fmt.Fprintf(f, "# docker cghistory bisect %s\n", res.Image)
		for _, st := range res.Steps {
			_, _ = io.WriteString(f, bisect.LogLine(st))
		}
		if f.Close() != nil {
			return
		}
		log = f.Name()
	}
	args := []string{"docker", "cghistory", "bisect", opts.image, "--good", res.Good.Digest.String(), "--bad", res.Bad.Digest.String()}
	if opts.platform != "" {
		args = append(args, "--platform", opts.platform)
	}
	if opts.stepTimeout > 0 {
		args = append(args, "--step-timeout", opts.stepTimeout.String())
	}
	if opts.noCheckEnds || !opts.checkEnds {
		args = append(args, "--no-check-ends")
	}
	args = append(args, "--replay", log, "--log", log, "--")
	args = append(args, opts.command...)
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	fmt.Fprintf(w, "The verdicts so far are in %s; to continue:\n  %s\n", log, strings.Join(args, " "))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@~=+,%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// pinnedIn is the digest file pins tag's repository to: the last known
// good build.
func pinnedIn(ctx context.Context, file string, tag name.Tag) (v1.Hash, error) {
	files, err := pin.Collect([]string{file}, nil, nil)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("--good-from-file: %w", err)
	}
	refs, _, err := pin.Scan(ctx, files, pin.Options{})
	if err != nil {
		return v1.Hash{}, fmt.Errorf("--good-from-file: %w", err)
	}
	var found []v1.Hash
	for _, r := range refs {
		img := r.Found.Image
		if img.Pinned() && img.Repo.Name() == tag.Context().Name() && !slices.Contains(found, img.Digest) {
			found = append(found, img.Digest)
		}
	}
	switch len(found) {
	case 0:
		return v1.Hash{}, fmt.Errorf("--good-from-file: %s has no pin of %s (want %s@sha256:…)", file, tag.Context(), tag)
	case 1:
		return found[0], nil
	}
	return v1.Hash{}, fmt.Errorf("--good-from-file: %s pins %s to %d different digests; name the good one with --good", file, tag.Context(), len(found))
}
