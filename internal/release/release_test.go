package release

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPlatformNames(t *testing.T) {
	for s, want := range map[string]string{
		"linux/amd64":   "docker-cghistory_linux_amd64.tar.gz",
		"linux/arm/v7":  "docker-cghistory_linux_arm-v7.tar.gz",
		"windows/arm64": "docker-cghistory_windows_arm64.zip",
	} {
		p, err := ParsePlatform(s)
		if err != nil || p.Archive() != want || p.String() != s {
			t.Errorf("%s: %+v %v, archive %s", s, p, err, p.Archive())
		}
	}
	for _, bad := range []string{"linux", "linux/amd64/v7", "/amd64", "a/b/c/d"} {
		if _, err := ParsePlatform(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestArchiveIgnoresFileTimesAndOrder: the same contents give the same
// archive bytes whatever the files' times and the order they are given in.
func TestArchiveIgnoresFileTimesAndOrder(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, []byte("contents of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	epoch := time.Unix(1700000000, 0)
	for _, isZip := range []bool{false, true} {
		first, second := filepath.Join(dir, "1"), filepath.Join(dir, "2")
		if err := writeArchive(first, []file{{"a", a, 0o755}, {"b", b, 0o644}}, epoch, isZip); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(a, time.Now(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := writeArchive(second, []file{{"b", b, 0o644}, {"a", a, 0o755}}, epoch, isZip); err != nil {
			t.Fatal(err)
		}
		x, _ := os.ReadFile(first)
		y, _ := os.ReadFile(second)
		if !bytes.Equal(x, y) {
			t.Errorf("zip %v: the archives differ", isZip)
		}
	}
}
