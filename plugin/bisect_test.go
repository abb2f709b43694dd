package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// bisectScript decides from files the test writes in the working directory:
// a build whose digest is in stop.txt exits 128, skip.txt 125, bad.txt 1,
// hang.txt hangs; any other passes. It first checks what bisect hands it:
// "{}" substituted, the environment set (exit 200 otherwise).
const bisectScript = `d="$CGHISTORY_DIGEST"
[ "$1" = "$CGHISTORY_IMAGE" ] && [ "$CGHISTORY_IMAGE" = "$WANT_PREFIX@$d" ] || { echo "bad reference $1 $CGHISTORY_IMAGE" >&2; exit 200; }
case "$CGHISTORY_UPDATED" in 20*Z) ;; *) exit 201 ;; esac
[ -n "$CGHISTORY_STEP" ] || exit 202
for f in stop:128 skip:125 bad:1; do grep -qs "$d" "${f%%:*}.txt" && exit "${f#*:}"; done
grep -qs "$d" hang.txt && exec sleep 60
echo "tested step $CGHISTORY_STEP"
exit 0`

type bisectOut struct {
	FirstBad      *struct{ Digest, Tested, Reference string }
	FirstBadRange []struct{ Digest string }
	LastGood      struct{ Digest string }
	Steps         []struct {
		Digest, Tested, Verdict, Note string
		ExitCode                      int
		Replayed                      bool
	}
	Skipped []struct{ Digest string }
	Runs    int
	Diff    *struct {
		Packages struct {
			Added []struct{ Name string }
		}
	}
}

func TestBisectThroughDocker(t *testing.T) {
	t.Parallel() // its waits hold under load: a hang ends at --step-timeout, and Ctrl-C comes while build 5 hangs
	s := registrytest.New(t)
	const repo = "chainguard/app"
	var builds []string
	for i := range 12 {
		db := "P:libssl3\nV:3.4.0-r" + string(rune('a'+i)) + "\nA:x86_64\no:openssl\n\n"
		if i >= 7 { // build 7 brings libxml2, and the bug
			db += "P:libxml2\nV:2.13.4-r0\nA:x86_64\no:libxml2\n\n"
		}
		d := s.PushLayers(t, repo, "latest", t0.Add(time.Duration(i)*time.Hour), "linux/amd64",
			registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": db})
		builds = append(builds, d.String())
	}
	// The tag went back to build 2 for a while: still one build, at its
	// first place (IMAGE~N counts it, as cgdiff does: ~12 is build 0).
	s.RecordHistory(repo, "latest", builds[2], t0.Add(9*time.Hour+30*time.Minute))
	other := s.PushLayers(t, repo, "other", t0, "linux/amd64", registrytest.Layer{"a": "b"})

	// Multi-platform builds; build 2 has no arm64 image.
	var multi []registrytest.Image
	for i := range 6 {
		plats := []string{"linux/amd64", "linux/arm64"}
		if i == 2 {
			plats = plats[:1]
		}
		multi = append(multi, s.Push(t, "chainguard/multi", "latest", t0.Add(time.Duration(i)*time.Hour), plats...))
	}
	arm64 := func(img registrytest.Image) string {
		for _, p := range img.Platforms {
			if p.Platform.Architecture == "arm64" {
				return p.Digest.String()
			}
		}
		return "none"
	}

	sec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"packages":[]}`)) }))
	defer sec.Close()
	d := newDockerEnv(t, "")
	ref := s.Ref(repo, "latest")
	dir, tmp := t.TempDir(), t.TempDir()
	stdin := ""
	writeFiles := func(files map[string][]string) {
		for _, f := range []string{"bad.txt", "skip.txt", "stop.txt", "hang.txt"} {
			os.Remove(filepath.Join(dir, f))
		}
		for f, ds := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(strings.Join(ds, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(files map[string][]string, args ...string) result {
		t.Helper()
		writeFiles(files)
		cmd := exec.Command("docker", args...)
		cmd.Dir = dir
		prefix := ref
		if strings.Contains(strings.Join(args, " "), "chainguard/multi") {
			prefix = s.Ref("chainguard/multi", "latest")
		}
		cmd.Env = append(append([]string(nil), d.env...), "CGHISTORY_SECDB="+sec.URL, "WANT_PREFIX="+prefix, "TMPDIR="+tmp)
		var out, errb bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{out.String(), errb.String(), code}
	}
	script := []string{"--", "sh", "-c", bisectScript, "sh", "{}"}
	bisect := func(extra ...string) []string {
		return append(append([]string{"cghistory", "bisect", ref}, extra...), script...)
	}
	asJSON := func(r result) bisectOut {
		t.Helper()
		var out bisectOut
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("%v:\n%s\n%s", err, r.stdout, r.stderr)
		}
		return out
	}
	bad := builds[7:]
	logFile := filepath.Join(t.TempDir(), "bisect.log")

	t.Run("table: first bad, last good, the diff names the package", func(t *testing.T) {
		r := run(map[string][]string{"bad.txt": bad}, bisect("--good", builds[0])...).ok(t)
		for _, want := range []string{
			"First bad build " + t0.Add(7*time.Hour).Format(time.RFC3339) + "  " + builds[7][:19] + "  " + ref + "@" + builds[7],
			"Last good build " + t0.Add(6*time.Hour).Format(time.RFC3339) + "  " + builds[6][:19] + "  " + ref + "@" + builds[6],
			"+ libxml2  2.13.4-r0", "tested step",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		// 10 candidates: the two ends and at most ⌈log2(11)⌉ = 4 runs.
		steps := regexp.MustCompile(`(?m)^step \d+: `).FindAllString(r.stderr, -1)
		if len(steps) < 3 || len(steps) > 6 || !strings.Contains(r.stderr, "step 1: the good end") || !strings.Contains(r.stderr, "10 left") {
			t.Errorf("%d steps:\n%s", len(steps), r.stderr)
		}
	})
	t.Run("json with a log, then replay runs nothing", func(t *testing.T) {
		out := asJSON(run(map[string][]string{"bad.txt": bad}, bisect("--good", "~12", "--format", "json", "--log", logFile)...).ok(t))
		if out.FirstBad == nil || out.FirstBad.Digest != builds[7] || out.LastGood.Digest != builds[6] || out.Runs != len(out.Steps) || out.Runs > 6 {
			t.Fatalf("%+v", out)
		}
		if out.Diff == nil || len(out.Diff.Packages.Added) != 1 || out.Diff.Packages.Added[0].Name != "libxml2" {
			t.Errorf("diff: %+v", out.Diff)
		}
		logged, _ := os.ReadFile(logFile)
		if strings.Count(string(logged), "\nbad sha256:")+strings.Count(string(logged), "\ngood sha256:") != out.Runs {
			t.Errorf("log:\n%s", logged)
		}
		again := asJSON(run(map[string][]string{"bad.txt": bad}, bisect("--good", "~12", "--format", "json", "--replay", logFile)...).ok(t))
		if again.Runs != 0 || again.FirstBad.Digest != builds[7] || len(again.Steps) != len(out.Steps) || !again.Steps[0].Replayed {
			t.Errorf("replay: %+v", again)
		}
	})
	t.Run("markdown", func(t *testing.T) {
		r := run(map[string][]string{"bad.txt": bad}, bisect("--good", "~12", "--format", "markdown")...).ok(t)
		if !strings.HasPrefix(r.stdout, "### Bisection of `"+ref+"`") || !strings.Contains(r.stdout, "**First bad build:** `"+ref+"@"+builds[7]+"`") ||
			!strings.Contains(r.stdout, "| ➕ | `libxml2` |") || strings.Contains(r.stdout, "tested step") {
			t.Errorf("markdown:\n%s", r.stdout)
		}
	})
	t.Run("the command reads the user's stdin", func(t *testing.T) {
		stdin = strings.Repeat("ok\n", 20)
		defer func() { stdin = "" }()
		out := asJSON(run(map[string][]string{"bad.txt": bad}, "cghistory", "bisect", ref, "--good", "~12", "--format", "json", "--",
			"sh", "-c", `read x && [ "$x" = ok ] && ! grep -qs "$CGHISTORY_DIGEST" bad.txt`).ok(t))
		if out.FirstBad == nil || out.FirstBad.Digest != builds[7] {
			t.Errorf("%+v", out)
		}
	})
	t.Run("skips leave a range naming every build", func(t *testing.T) {
		out := asJSON(run(map[string][]string{"bad.txt": bad, "skip.txt": builds[6:8]}, bisect("--good", "~12", "--format", "json")...).ok(t))
		var got []string
		for _, b := range out.FirstBadRange {
			got = append(got, b.Digest)
		}
		if out.FirstBad != nil || strings.Join(got, " ") != strings.Join(builds[6:9], " ") || out.LastGood.Digest != builds[5] || len(out.Skipped) != 2 {
			t.Errorf("%+v", out)
		}
	})
	t.Run("a hang counts as a skip after --step-timeout", func(t *testing.T) {
		start := time.Now()
		out := asJSON(run(map[string][]string{"bad.txt": bad, "hang.txt": builds[5:6]}, bisect("--good", "~12", "--format", "json", "--step-timeout", "1s")...).ok(t))
		if out.FirstBad.Digest != builds[7] || len(out.Skipped) != 1 || out.Skipped[0].Digest != builds[5] || time.Since(start) > 30*time.Second {
			t.Errorf("%+v after %s", out, time.Since(start))
		}
	})
	t.Run("exit 128 stops, naming the build, and says how to continue", func(t *testing.T) {
		r := run(map[string][]string{"bad.txt": bad, "stop.txt": builds[5:6]}, bisect("--good", "~12")...)
		r.fails(t, "the command exited 128 on build "+builds[5], "The verdicts so far are in "+tmp, "--replay "+tmp)
	})
	t.Run("Ctrl-C during a run prints the command that resumes it", func(t *testing.T) {
		writeFiles(map[string][]string{"bad.txt": bad, "hang.txt": builds[5:6]})
		cmd := exec.Command("docker", bisect("--good", "~12")...)
		cmd.Dir, cmd.Env = dir, append(append([]string(nil), d.env...), "WANT_PREFIX="+ref, "TMPDIR="+tmp, "CGHISTORY_SECDB="+sec.URL)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's process group, to signal as Ctrl-C does
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var seen strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "step 2: the bad end") {
				time.Sleep(500 * time.Millisecond) // the third run hangs on build 5
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
			}
		}
		err = cmd.Wait()
		if err == nil || !strings.Contains(seen.String(), "The verdicts so far are in "+tmp) || !strings.Contains(seen.String(), "bisection interrupted") {
			t.Fatalf("%v:\n%s", err, seen.String())
		}
		log := regexp.MustCompile(`--replay (\S+)`).FindStringSubmatch(seen.String())[1]
		logged, _ := os.ReadFile(log)
		if strings.Count(string(logged), " sha256:") != 2 {
			t.Errorf("log after Ctrl-C:\n%s", logged)
		}
	})
	t.Run("--platform tests the platform's images, skipping builds without one", func(t *testing.T) {
		var badArm []string
		for _, img := range multi[4:] {
			badArm = append(badArm, arm64(img))
		}
		args := append([]string{"cghistory", "bisect", s.Ref("chainguard/multi", "latest"), "--good", "~5", "--platform", "linux/arm64", "--format", "json"}, script...)
		out := asJSON(run(map[string][]string{"bad.txt": badArm}, args...).ok(t))
		if out.FirstBad == nil || out.FirstBad.Digest != multi[4].Digest.String() || out.FirstBad.Tested != arm64(multi[4]) || out.LastGood.Digest != multi[3].Digest.String() {
			t.Fatalf("%+v", out)
		}
		noArm := false
		for _, st := range out.Steps {
			noArm = noArm || (st.Digest == multi[2].Digest.String() && st.Verdict == "skip" && st.Note == "no linux/arm64 image")
		}
		if !noArm {
			t.Errorf("build 2 not skipped: %+v", out.Steps)
		}
	})
	t.Run("--good-from-file and --dry-run", func(t *testing.T) {
		df := filepath.Join(dir, "Dockerfile")
		if err := os.WriteFile(df, []byte("FROM "+ref+"@"+builds[3]+"\nRUN true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := run(nil, "cghistory", "bisect", ref, "--good-from-file", df, "--dry-run").ok(t)
		if !strings.Contains(r.stdout, "7 builds between the good build "+builds[3][:19]) || !strings.Contains(r.stdout, "at most 3 runs") ||
			!strings.Contains(r.stdout, "1     "+t0.Add(7*time.Hour).Format(time.RFC3339)) {
			t.Errorf("dry run:\n%s", r.stdout)
		}
		out := asJSON(run(map[string][]string{"bad.txt": bad}, bisect("--good-from-file", df, "--format", "json", "--no-check-ends")...).ok(t))
		if out.FirstBad.Digest != builds[7] || out.Runs > 3 {
			t.Errorf("%+v", out)
		}
		// The round trip: pin the last good build by its time.
		run(nil, "cgpin", "--at", t0.Add(6*time.Hour).Format(time.RFC3339), df).ok(t)
		if got, _ := os.ReadFile(df); string(got) != "FROM "+ref+"@"+out.LastGood.Digest+"\nRUN true\n" || out.LastGood.Digest != builds[6] {
			t.Errorf("after cgpin --at the last good build: %q", got)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"good newer than bad", bisect("--good", "~1", "--bad", "~4"), []string{"the good build " + builds[10], "is newer than the bad build " + builds[8]}},
		{"nothing between", bisect("--good", "~1"), []string{"there is nothing between the good build " + builds[10], "and the bad build " + builds[11]}},
		{"not in the history", bisect("--good", "sha256:"+strings.Repeat("ab", 32)), []string{"is not in the history of " + ref}},
		{"a build of another tag", bisect("--good", other.String()), []string{other.String() + " is not in the history of " + ref, "a build of another tag"}},
		{"unknown tag", append([]string{"cghistory", "bisect", s.Ref(repo, "nope"), "--good", "~3"}, script...), []string{`tag "nope" not found`}},
		{"flaky or not the image", bisect("--good", "~12"), []string{"the good build " + builds[0], "fails too (exit 1): the bug is not in the image, or the test is flaky"}},
		{"a command that cannot start", []string{"cghistory", "bisect", ref, "--good", "~12", "--", "./no-such-test"}, []string{"the command cannot be run", "no-such-test"}},
		{"no good build", []string{"cghistory", "bisect", ref, "--", "true"}, []string{"--good REF or --good-from-file"}},
		{"command not after --", []string{"cghistory", "bisect", ref, "true"}, []string{"put the command after --"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]string{"bad.txt": bad}
			if tc.name == "flaky or not the image" {
				files["bad.txt"] = builds
			}
			r := run(files, tc.args...).fails(t, tc.want...)
			if strings.Contains(r.stderr, "step 1") && tc.name != "flaky or not the image" {
				t.Errorf("ran steps:\n%s", r.stderr)
			}
		})
	}
}

// TestBisectMirrorThroughDocker bisects a pull-through cache's tag (no
// history API) with the history of its upstream.
func TestBisectMirrorThroughDocker(t *testing.T) {
	t.Parallel()
	f := newMirrorFixture(t)
	d := newDockerEnv(t, f.config)
	r := d.docker("cghistory", "bisect", f.flat, "--registry-map", f.flatM, "--good", "~2", "--format", "json", "--",
		"sh", "-c", `case "$CGHISTORY_IMAGE" in `+f.flat+`@*) ;; *) exit 200 ;; esac; [ "$CGHISTORY_DIGEST" != "`+f.b3.String()+`" ]`).ok(t)
	var out bisectOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v:\n%s\n%s", err, r.stdout, r.stderr)
	}
	if out.FirstBad == nil || out.FirstBad.Digest != f.b3.String() || out.LastGood.Digest != f.b2.String() || out.Runs != 3 {
		t.Errorf("%+v\n%s", out, r.stderr)
	}
	d.docker("cghistory", "bisect", f.flat, "--good", "~2", "--", "true").fails(t, "bisect needs the tag history")
}
