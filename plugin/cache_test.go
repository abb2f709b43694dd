package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// CGHISTORY_CACHE_DIR pointed at a directory full of the user's files (the
// incident: $HOME) with a tiny bound used to delete them all and make the
// directory 0700. The plugin now keeps its cache in docker-cghistory inside
// it, and deletes or chmods nothing of the user's.
func TestCacheDirThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0)
	d := newDockerEnv(t, "")
	ref := s.Ref("chainguard/nginx", "")

	home := t.TempDir()
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	files := map[string]os.FileMode{"Documents/thesis.txt": 0o600, ".ssh/id_ed25519": 0o600, "vm/disk.qcow2": 0o644}
	for name, mode := range files {
		p := filepath.Join(home, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	env := []string{"CGHISTORY_CACHE_DIR=" + home, "CGHISTORY_CACHE_MAX=1"}
	for range 2 {
		d.run("", env, "cghistory", ref).ok(t)
	}
	for name, mode := range files {
		p := filepath.Join(home, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if b, _ := os.ReadFile(p); string(b) != name || fi.Mode().Perm() != mode || !fi.ModTime().Equal(old) {
			t.Errorf("%s changed: %q %v %v", name, b, fi.Mode(), fi.ModTime())
		}
	}
	if fi, err := os.Stat(home); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the directory named was chmod'ed: %v %v", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(home, "docker-cghistory", "CACHEDIR.TAG")); err != nil {
		t.Errorf("no tagged cache in the subdirectory: %v", err)
	}

	// A directory whose docker-cghistory is something else of the user's:
	// refused with the reason, nothing touched.
	other := t.TempDir()
	settings := filepath.Join(other, "docker-cghistory", "settings.json")
	if err := os.MkdirAll(filepath.Dir(settings), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "notes"), []byte("n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.run("", []string{"CGHISTORY_CACHE_DIR=" + other}, "cghistory", ref).
		fails(t, "holds files that are not a docker-cghistory cache", "CGHISTORY_CACHE_DIR")
	if b, err := os.ReadFile(settings); err != nil || string(b) != "{}" {
		t.Errorf("settings.json touched: %q %v", b, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(settings)); len(entries) != 1 {
		t.Errorf("written into a directory that is not the cache's: %v", entries)
	}
}
