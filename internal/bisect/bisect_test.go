package bisect_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/bisect"
	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/google/go-containerregistry/pkg/name"
)

var t0 = time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)

func digestN(i int) string { return fmt.Sprintf("sha256:%064x", i+1) }

// verdicts is a Runner that answers from the build's digest, as a test
// command reading CGHISTORY_DIGEST would, without a process: the search's
// counting is what these tests check (internal tests and the plugin's
// end-to-end tests run real commands).
type verdicts struct {
	mu     sync.Mutex
	status map[string]int // digest → exit status (default 0)
	seen   []string
}

func (v *verdicts) Run(_ context.Context, args, env []string) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var d string
	for _, kv := range env {
		if s, ok := strings.CutPrefix(kv, "CGHISTORY_DIGEST="); ok {
			d = s
		}
	}
	v.seen = append(v.seen, d)
	return v.status[d], nil
}

func newBisector(t testing.TB, s *registrytest.Server, r bisect.Runner) *bisect.Bisector {
	t.Helper()
	rc := registry.New(registry.Options{Cache: cache.New(t.TempDir(), 0), RetryBase: time.Millisecond})
	return &bisect.Bisector{History: &history.Client{Registry: rc}, Registry: rc, Runner: r}
}

func tagOf(t testing.TB, s *registrytest.Server, repo string) name.Tag {
	t.Helper()
	tg, err := name.NewTag(s.Ref(repo, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// record writes a history of n builds, one a day; builds from firstBad on
// exit 1.
func record(s *registrytest.Server, repo string, n, firstBad int) *verdicts {
	v := &verdicts{status: map[string]int{}}
	for i := range n {
		s.RecordHistory(repo, "latest", digestN(i), t0.Add(time.Duration(i)*24*time.Hour))
		if i >= firstBad {
			v.status[digestN(i)] = 1
		}
	}
	return v
}

func TestBisectHistoriesOfManySizes(t *testing.T) {
	s := registrytest.New(t)
	for _, tc := range []struct {
		n, firstBad int
		good        string
		err         string
	}{
		{n: 1, good: "~0", err: "the same build"},
		{n: 2, firstBad: 1, good: "~1", err: "there is nothing between the good build " + digestN(0)},
		{n: 3, firstBad: 1, good: "~2"},
		{n: 3, firstBad: 2, good: "~2"},
		{n: 45, firstBad: 17, good: "~44"},
		{n: 45, firstBad: 44, good: "~44"},
		{n: 45, firstBad: 1, good: "~44"},
		{n: 45, firstBad: 30, good: "~40"},
	} {
		t.Run(fmt.Sprintf("%d builds first bad %d", tc.n, tc.firstBad), func(t *testing.T) {
			repo := fmt.Sprintf("chainguard/n%d-%d", tc.n, tc.firstBad)
			v := record(s, repo, tc.n, tc.firstBad)
			var steps []bisect.Step
			res, err := newBisector(t, s, v).Bisect(context.Background(), bisect.Request{
				Tag: tagOf(t, s, repo), Good: tc.good, Command: []string{"true"}, CheckEnds: true, Now: time.Now(),
				OnStep: func(st bisect.Step) { steps = append(steps, st) },
			})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.FirstBad) != 1 || res.FirstBad[0].Digest.String() != digestN(tc.firstBad) || res.LastGood.Digest.String() != digestN(tc.firstBad-1) {
				t.Errorf("first bad %v, last good %v; want build %d", res.FirstBad, res.LastGood, tc.firstBad)
			}
			if limit := 2 + bisect.MaxRuns(len(res.Candidates)); res.Runs > limit || len(v.seen) != res.Runs || len(steps) != res.Runs {
				t.Errorf("%d runs (%d seen, %d steps) for %d candidates, want at most %d", res.Runs, len(v.seen), len(steps), len(res.Candidates), limit)
			}
		})
	}
}

func TestBisectEndsAndBadInput(t *testing.T) {
	s := registrytest.New(t)
	v := record(s, "chainguard/app", 10, 6)
	other := s.Push(t, "chainguard/app", "other", t0)
	b := newBisector(t, s, v)
	tag := tagOf(t, s, "chainguard/app")
	for _, tc := range []struct {
		name, good, bad string
		status          map[string]int
		err             string
	}{
		{"good newer than bad", "~1", "~5", nil, "the good build " + digestN(8) + " (" + t0.Add(8*24*time.Hour).Format(time.RFC3339) + ") is newer than the bad build " + digestN(4)},
		{"not in the history", digestN(99), "", nil, "--good " + digestN(99) + " is not in the history of " + tag.Name()},
		{"a build of another tag", other.Digest.String(), "", nil, "the repository has that image, so it is a build of another tag"},
		{"good fails", "~9", "", map[string]int{digestN(0): 1, digestN(9): 1}, "the good build " + digestN(0) + " (" + t0.Format(time.RFC3339) + ") fails too (exit 1): the bug is not in the image, or the test is flaky"},
		{"bad passes", "~9", "~5", nil, "the bad build " + digestN(4)},
		{"bad end skipped", "~9", "", map[string]int{digestN(9): 125}, "the bad build " + digestN(9)},
		{"exit 128 stops", "~9", "", map[string]int{digestN(9): 1, digestN(4): 128}, "the command exited 128 on build " + digestN(4)},
		{"a signal stops", "~9", "", map[string]int{digestN(9): 1, digestN(4): -1}, "was killed by a signal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status != nil {
				v.status = tc.status
			} else {
				v.status = map[string]int{digestN(6): 1, digestN(7): 1, digestN(8): 1, digestN(9): 1}
			}
			_, err := b.Bisect(context.Background(), bisect.Request{Tag: tag, Good: tc.good, Bad: tc.bad, Command: []string{"true"}, CheckEnds: true, Now: time.Now()})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
	t.Run("no history API", func(t *testing.T) {
		ns := registrytest.New(t, registrytest.WithoutHistory())
		ns.Push(t, "chainguard/app", "latest", t0)
		_, err := newBisector(t, ns, v).Bisect(context.Background(), bisect.Request{Tag: tagOf(t, ns, "chainguard/app"), Good: "~1", Command: []string{"true"}, Now: time.Now()})
		if !errors.Is(err, history.ErrNotSupported) || !strings.Contains(err.Error(), "bisect needs the tag history") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a command that cannot start", func(t *testing.T) {
		v.seen = nil
		_, err := b.Bisect(context.Background(), bisect.Request{Tag: tag, Good: "~9", Command: []string{"no-such-command-cghistory"}, Now: time.Now()})
		if err == nil || !strings.Contains(err.Error(), `"no-such-command-cghistory": executable file not found`) || len(v.seen) != 0 {
			t.Errorf("err = %v, runs %v", err, v.seen)
		}
	})
}

func TestBisectReplayRunsNothingKnown(t *testing.T) {
	s := registrytest.New(t)
	v := record(s, "chainguard/app", 20, 13)
	b := newBisector(t, s, v)
	var log strings.Builder
	req := bisect.Request{Tag: tagOf(t, s, "chainguard/app"), Good: "~19", Command: []string{"true"}, CheckEnds: true, Now: time.Now(), Log: &log}
	first, err := b.Bisect(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(log.String(), "\n") != first.Runs {
		t.Errorf("log:\n%s", log.String())
	}
	path := t.TempDir() + "/log"
	if err := writeFile(path, log.String()); err != nil {
		t.Fatal(err)
	}
	req.Known, err = bisect.ReadLog(path)
	if err != nil {
		t.Fatal(err)
	}
	req.Log = nil
	again, err := b.Bisect(context.Background(), req)
	if err != nil || again.Runs != 0 || again.FirstBad[0] != first.FirstBad[0] || len(again.Steps) != len(first.Steps) {
		t.Errorf("replay: %d runs, %v, %v", again.Runs, again.FirstBad, err)
	}
}

// interrupting is a Runner whose second run is interrupted (Ctrl-C).
type interrupting struct {
	cancel context.CancelFunc
	runs   int
}

func (r *interrupting) Run(ctx context.Context, args, env []string) (int, error) {
	r.runs++
	if r.runs == 2 {
		r.cancel()
		<-ctx.Done()
		return -1, nil
	}
	return 0, nil
}

func TestBisectInterruptedKeepsTheStepsDone(t *testing.T) {
	s := registrytest.New(t)
	record(s, "chainguard/app", 10, 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &interrupting{cancel: cancel}
	var log strings.Builder
	res, err := newBisector(t, s, r).Bisect(ctx, bisect.Request{Tag: tagOf(t, s, "chainguard/app"), Good: "~9", Command: []string{"true"}, CheckEnds: true, Now: time.Now(), Log: &log})
	if !errors.Is(err, bisect.ErrInterrupted) || res == nil || len(res.Steps) != 1 || strings.Count(log.String(), "\n") != 1 {
		t.Errorf("err %v, result %+v, log %q", err, res, log.String())
	}
}
