package pin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// planEdits reads paths as a run does and plans to append a line to each.
func planEdits(t *testing.T, paths ...string) *Plan {
	t.Helper()
	p := &Plan{}
	for _, path := range paths {
		fp, err := readFile(path, maxFileSize)
		if err != nil {
			t.Fatal(err)
		}
		fp.New = append(append([]byte(nil), fp.Old...), "# pinned\n"...)
		fp.Changes = []Change{{File: path, Line: 1}}
		p.Files = append(p.Files, fp)
	}
	return p
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(dir, ".*cgpin*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

// An edit saved between staging and renaming is never overwritten: the
// file is checked again just before its rename, the files already renamed
// are put back, and the error names the file that changed.
func TestWriteKeepsAnEditSavedDuringTheRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   int // which file is edited
		change func(t *testing.T, path string)
		want   string
	}{
		{"append to the second", 1, func(t *testing.T, path string) { appendTo(t, path, "RUN saved meanwhile\n") }, "bytes, was"},
		{"append to the first", 0, func(t *testing.T, path string) { appendTo(t, path, "RUN saved meanwhile\n") }, "bytes, was"},
		{"same size and time, other content", 1, func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			b := []byte(read(t, path))
			b[0] = 'f'
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, "its content differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := []string{write(t, dir, "Dockerfile", "FROM a:1\n"), write(t, dir, "compose.yaml", "services: {}\n")}
			p := planEdits(t, paths...)
			var edited string
			beforeRename = func(f *FilePlan) {
				if f.Path == paths[tc.edit] {
					tc.change(t, f.Target)
					edited = read(t, f.Target)
				}
			}
			t.Cleanup(func() { beforeRename = nil })
			err := p.Write()
			if err == nil {
				t.Fatal("Write succeeded over a file changed during the run")
			}
			var le *LocatedError
			if !errors.As(err, &le) || le.File != paths[tc.edit] || !strings.Contains(err.Error(), "changed on disk while cgpin ran") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one naming %s", err, paths[tc.edit])
			}
			for i, path := range paths {
				want := string(p.Files[i].Old)
				if i == tc.edit {
					want = edited
				}
				if got := read(t, path); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
			noTemps(t, dir)
		})
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// Temporary files a killed run left are removed by the next run that
// writes (only ".NAME.cgpin-DIGITS" beside a file read), and never read.
func TestStaleTempsRemovedAndNeverRead(t *testing.T) {
	dir := t.TempDir()
	df := write(t, dir, "Dockerfile", "FROM scratch\n")
	stale := write(t, dir, ".Dockerfile.cgpin-3141592653", "FROM a:1\n")
	kept := []string{
		write(t, dir, ".Dockerfile.cgpin-x1", "FROM a:1\n"),     // not our pattern
		write(t, dir, ".gone.cgpin-12", "FROM a:1\n"),           // beside no file read
		write(t, dir, "sub/.Dockerfile.cgpin-12", "FROM a:1\n"), // in a directory not walked for it
		write(t, dir, "Dockerfile.cgpin-12", "FROM a:1\n"),      // not hidden: a Dockerfile.* the user wrote
	}
	link := filepath.Join(dir, ".Dockerfile.cgpin-77")
	if err := os.Symlink(kept[0], link); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, link)
	files, err := Collect([]string{dir, stale}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range files {
		if strings.Contains(filepath.Base(s.Path), ".cgpin-") && strings.HasPrefix(filepath.Base(s.Path), ".") {
			t.Errorf("temp file collected as input: %s", s.Path)
		}
	}
	p, err := Build(context.Background(), []Source{{Path: df, Kind: ref.Dockerfile, Root: dir}}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file not removed: %v", err)
	}
	for _, k := range kept {
		if _, err := os.Lstat(k); err != nil {
			t.Errorf("%s removed: %v", k, err)
		}
	}
}

// What cgpin must not rewrite in place is left alone with a reason: a
// symlink leading out of the paths given, a file with other hard links,
// a file too big to read. A too big file named is an error.
func TestLeftAloneFiles(t *testing.T) {
	root, other := t.TempDir(), t.TempDir()
	outside := write(t, other, "Dockerfile", "FROM scratch\n")
	write(t, root, "repo/inside.Dockerfile", "FROM scratch\n")
	if err := os.Symlink(outside, filepath.Join(root, "repo", "out.Dockerfile")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("inside.Dockerfile", filepath.Join(root, "repo", "in.Dockerfile")); err != nil {
		t.Fatal(err)
	}
	linked := write(t, root, "repo/hard/Dockerfile", "FROM scratch\n")
	if err := os.Link(linked, filepath.Join(other, "linked")); err != nil {
		t.Fatal(err)
	}
	big := write(t, root, "repo/big/Dockerfile", "FROM scratch\n"+strings.Repeat("# padding\n", 200))
	oldDF := maxDockerfileSize
	maxDockerfileSize = 1000
	t.Cleanup(func() { maxDockerfileSize = oldDF })

	repo := filepath.Join(root, "repo")
	files, err := Collect([]string{repo}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(context.Background(), files, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, n := range p.Notes {
		if n.Line == 0 {
			reasons[filepath.Base(filepath.Dir(n.File))+"/"+filepath.Base(n.File)] = n.Reason
		}
	}
	for file, want := range map[string]string{
		"repo/out.Dockerfile": "outside the paths given",
		"hard/Dockerfile":     "has 2 hard links",
		"big/Dockerfile":      "larger than the 1000B cgpin reads",
	} {
		if !strings.Contains(reasons[file], want) {
			t.Errorf("%s: reason %q, want %q (notes %+v)", file, reasons[file], want, p.Notes)
		}
	}
	if len(reasons) != 3 || len(p.Files) != 1 {
		t.Errorf("files %d (want inside.Dockerfile once), notes %+v", len(p.Files), p.Notes)
	}
	// Named, the symlink out still leads outside; a file given otherwise
	// may be reached through a symlink.
	files = []Source{{Path: filepath.Join(repo, "out.Dockerfile"), Kind: ref.Dockerfile, Explicit: true, Root: filepath.Join(repo, "out.Dockerfile")}}
	if p, err := Build(context.Background(), files, nil, Options{}); err != nil || len(p.Notes) != 1 || len(p.Files) != 0 {
		t.Errorf("named symlink out: %v %+v", err, p)
	}
	files = append(files, Source{Path: outside, Kind: ref.Dockerfile, Explicit: true, Root: outside})
	if p, err := Build(context.Background(), files, nil, Options{}); err != nil || len(p.Notes) != 0 || len(p.Files) != 1 {
		t.Errorf("symlink to a file named: %v %+v", err, p)
	}
	// A too big file named is an error (a note for hooks).
	files, err = Collect([]string{big}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), files, nil, Options{}); err == nil || !strings.Contains(err.Error(), big+": ") || !strings.Contains(err.Error(), "KiB, larger than the 1000B cgpin reads") {
		t.Errorf("named too big: %v", err)
	}
	if p, err := Build(context.Background(), files, nil, Options{SkipUnknown: true}); err != nil || len(p.Notes) != 1 {
		t.Errorf("named too big, --skip-unknown: %v %+v", err, p)
	}
}

// A file the user may not write is not replaced (a rename would), also
// for root: the run fails naming it and writes nothing anywhere.
func TestWriteRefusesReadOnlyFiles(t *testing.T) {
	dir := t.TempDir()
	ok := write(t, dir, "a/Dockerfile", "FROM a:1\n")
	ro := write(t, dir, "b/Dockerfile", "FROM b:1\n")
	if err := os.Chmod(ro, 0o444); err != nil {
		t.Fatal(err)
	}
	p := planEdits(t, ok, ro)
	err := p.Write()
	if err == nil || !strings.Contains(err.Error(), ro+": not writable (mode 0444)") {
		t.Fatalf("error = %v", err)
	}
	if read(t, ok) != "FROM a:1\n" || read(t, ro) != "FROM b:1\n" {
		t.Error("a file was written")
	}
	noTemps(t, filepath.Join(dir, "a"))
	noTemps(t, filepath.Join(dir, "b"))
}

// The walk of a directory is bounded in depth and entries.
func TestWalkLimits(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(append([]string{dir}, strings.Split(strings.Repeat("d/", maxWalkDepth+1), "/")...)...)
	write(t, deep, "Dockerfile", "FROM scratch\n")
	if _, err := Collect([]string{dir}, nil, nil); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d directories deep", maxWalkDepth)) {
		t.Errorf("deep: %v", err)
	}
	if _, err := Collect([]string{dir}, []string{"d"}, nil); err != nil {
		t.Errorf("deep, excluded: %v", err)
	}
	old := maxWalkEntries
	maxWalkEntries = 50
	t.Cleanup(func() { maxWalkEntries = old })
	wide := t.TempDir()
	for i := range 60 {
		write(t, wide, fmt.Sprintf("f%02d.txt", i), "")
	}
	if _, err := Collect([]string{wide}, nil, nil); err == nil || !strings.Contains(err.Error(), "more than 50 files and directories, the most cgpin walks") {
		t.Errorf("wide: %v", err)
	}
	oldTotal := maxTotalBytes
	maxTotalBytes = 40
	t.Cleanup(func() { maxTotalBytes = oldTotal })
	for i := range 3 {
		write(t, wide, fmt.Sprintf("s%d/Dockerfile", i), "FROM scratch\n# 20 bytes of text\n")
	}
	maxWalkEntries = old
	files, err := Collect([]string{wide}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), files, nil, Options{}); err == nil || !strings.Contains(err.Error(), "add up to more than 40B here") {
		t.Errorf("total: %v", err)
	}
}

// --timeout holds while files are parsed: a parser that does not return
// does not keep the run.
func TestReadingEndsWithTheContext(t *testing.T) {
	dir := t.TempDir()
	slow := write(t, dir, "compose.yaml", "services: {}\n")
	release, finished := make(chan struct{}), make(chan struct{}, 2)
	orig := find
	find = func(fp *FilePlan) ([]ref.Found, []ref.Skipped, error) {
		defer func() { finished <- struct{}{} }()
		<-release // a parse that outlives any deadline
		return orig(fp)
	}
	t.Cleanup(func() {
		close(release)
		<-finished // each background parse, now over
		<-finished
		find = orig
	})
	files := []Source{{Path: slow, Kind: ref.Compose, Root: dir}}
	for name, call := range map[string]func(ctx context.Context) error{
		"Build": func(ctx context.Context) error { _, err := Build(ctx, files, nil, Options{}); return err },
		"Scan":  func(ctx context.Context) error { _, _, err := Scan(ctx, files, Options{}); return err },
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), slow) {
			t.Errorf("%s: error = %v, want the deadline naming %s", name, err, slow)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s returned after %s", name, d)
		}
	}
}
