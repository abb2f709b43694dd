package commands

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
	"github.com/docker/cli/cli/command"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// newDiffer builds the diff engine on the run's registry client.
func newDiffer(dockerCLI command.Cli, client *registry.Client, opts registryOptions) *imagediff.Differ {
	fetcher := &inventory.Fetcher{Registry: client}
	if errOut := dockerCLI.Err(); errOut.IsTerminal() {
		// Progress on a terminal only, each line overwriting the last.
		var mu sync.Mutex
		fetcher.Progress = func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(errOut, "\r\x1b[K"+format, args...)
		}
	}
	return &imagediff.Differ{
		Registry:  client,
		History:   &history.Client{Registry: client},
		Inventory: fetcher,
		SecDB:     &vuln.Loader{HTTP: client.HTTP(), Cache: client.Cache()},
		Namespace: namespace(dockerCLI),
		Insecure:  opts.insecure,
	}
}

// summaryOptions are the diff options behind --changes and --explain: the
// chosen (or this machine's) platform, secdb vulnerabilities.
func summaryOptions(platform *v1.Platform) imagediff.Options {
	o := imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, Source: inventory.SourceAuto,
		Vulns: "secdb", SecDBURL: os.Getenv("CGHISTORY_SECDB")}
	if platform != nil {
		o.Platform, o.PlatformSet = *platform, true
	}
	return o
}

// summarise describes the first n builds of all (newest first) against the
// build before each, keyed by digest.
func summarise(ctx context.Context, dockerCLI command.Cli, client *registry.Client, tag name.Tag, all []history.Entry, n int, platform *v1.Platform, opts registryOptions) (map[string]string, error) {
	end := min(n+1, len(all))
	refs := make([]string, end)
	for i := range end {
		refs[i] = tag.Context().Digest(all[i].Digest.String()).String()
	}
	results, errs := newDiffer(dockerCLI, client, opts).Chain(ctx, refs, summaryOptions(platform))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, r := range results {
		if errs[i] != nil {
			out[all[i].Digest.String()] = "cannot summarise: " + errs[i].Error()
			continue
		}
		out[all[i].Digest.String()] = r.Summary()
	}
	if end == len(all) && end > 0 {
		out[all[end-1].Digest.String()] = "first build in the history"
	}
	return out, nil
}

// explainChanges summarises, for each pin change, what the new digest
// brings over the old one (nothing to compare for a first pin).
func explainChanges(ctx context.Context, dockerCLI command.Cli, client *registry.Client, changes []pin.Change, platform *v1.Platform, opts registryOptions) (map[string]string, error) {
	d := newDiffer(dockerCLI, client, opts)
	dopts := summaryOptions(platform)
	out := map[string]string{}
	var mu sync.Mutex
	done := map[string]string{} // old→new pair → summary
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, c := range changes {
		loc := fmt.Sprintf("%s:%d", c.File, c.Line)
		oldRef, oldDigest, pinned := strings.Cut(c.Old, "@")
		if !pinned {
			out[loc] = "newly pinned"
			continue
		}
		ref, err := name.ParseReference(oldRef, name.WeakValidation)
		if err != nil {
			return nil, err
		}
		from := ref.Context().Digest(oldDigest).String()
		to := ref.Context().Digest(c.Digest.String()).String()
		g.Go(func() error {
			key := from + " " + to
			mu.Lock()
			s, ok := done[key]
			mu.Unlock()
			if !ok {
				r, err := d.Diff(gctx, from, to, dopts)
				switch {
				case gctx.Err() != nil:
					return gctx.Err()
				case err != nil:
					s = "cannot explain: " + err.Error() // the pin itself still stands
				default:
					s = r.Summary()
				}
			}
			mu.Lock()
			done[key], out[loc] = s, s
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}
