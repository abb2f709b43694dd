package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker-cghistory/docker-cghistory/internal/release"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// The release the tests build: one version, one epoch.
const (
	distVersion = "v9.8.7-test"
	distEpoch   = 1700000000
)

// distPlatforms is this machine's platform, or every release platform with
// CGHISTORY_TEST_DIST_ALL=1 (make test-dist).
func distPlatforms() string {
	if os.Getenv("CGHISTORY_TEST_DIST_ALL") != "" {
		return ""
	}
	return runtime.GOOS + "/" + runtime.GOARCH
}

// copySource copies the module (the files git tracks or would track) to dst,
// as a fresh clone at another path would have them.
func copySource(t *testing.T, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", "..", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join("..", f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildDist runs the release build (what make dist runs) in a copy of the
// source at src, writing out.
func buildDist(t *testing.T, src, out string) {
	t.Helper()
	copySource(t, src)
	start := time.Now()
	cmd := exec.Command("go", "run", "./scripts/release", "dist", "-version", distVersion,
		"-epoch", "1700000000", "-platforms", distPlatforms(), "-out", out)
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release dist: %v\n%s", err, b)
	}
	t.Logf("release dist in %s: %v", src, time.Since(start).Round(time.Millisecond))
}

var shared struct {
	sync.Once
	src, dist string
	ok        bool
}

// sharedDist is one release build for this package's tests (built once).
// The tests calling it run in parallel: the first runs the build as its
// subtest, the others wait in Do until it is done. They build the release
// (twice, for reproducibility), which is slow: make test-long and
// make test-dist run them, make test skips them.
func sharedDist(t *testing.T) string {
	t.Helper()
	if os.Getenv("CGHISTORY_TEST_DIST_ALL") == "" {
		longTest(t, "builds the release")
	}
	shared.Do(func() {
		root := filepath.Join(filepath.Dir(pluginBinary), "dist-a")
		shared.src, shared.dist = filepath.Join(root, "src"), filepath.Join(root, "dist")
		t.Run("build", func(t *testing.T) { buildDist(t, shared.src, shared.dist); shared.ok = !t.Failed() })
	})
	if !shared.ok {
		t.Fatal("the release build failed")
	}
	return shared.dist
}

// haveTools says whether every one of the programs is on PATH.
func haveTools(names ...string) bool {
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return false
		}
	}
	return true
}

// archiveContents is an archive unpacked: every member at dir/NAME, and
// the members' headers in archive order (tar for a tar.gz, zip for a zip).
type archiveContents struct {
	dir string
	tar []*tar.Header
	zip []*zip.FileHeader
}

// member is the file holding the archive member name.
func (c *archiveContents) member(name string) string {
	return filepath.Join(c.dir, filepath.FromSlash(name))
}

var unpacked = struct {
	sync.Mutex
	m map[string]*unpackOnce
}{m: map[string]*unpackOnce{}}

type unpackOnce struct {
	sync.Once
	c   *archiveContents
	err error
}

// sharedArchive is the shared release build's archive for p, unpacked
// once for all the tests that look inside it.
func sharedArchive(t *testing.T, p release.Platform) *archiveContents {
	t.Helper()
	dist := sharedDist(t)
	archive := filepath.Join(dist, p.Archive())
	unpacked.Lock()
	o := unpacked.m[archive]
	if o == nil {
		o = &unpackOnce{}
		unpacked.m[archive] = o
	}
	unpacked.Unlock()
	o.Do(func() {
		// Beside dist/, not in it: the tests serve and copy dist/ whole.
		dir, err := os.MkdirTemp(filepath.Dir(dist), "unpacked-")
		if err == nil {
			o.c, err = unpack(archive, dir)
		}
		o.err = err
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.c
}

// unpack extracts a release archive (or an image layer, a tar.gz) into dir.
func unpack(archive, dir string) (*archiveContents, error) {
	c := &archiveContents{dir: dir}
	if !strings.HasSuffix(archive, ".zip") {
		var err error
		c.tar, err = untarGz(archive, dir)
		return c, err
	}
	// A zip (windows: make test-dist only) is read in process.
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	for _, f := range zr.File {
		c.zip = append(c.zip, &f.FileHeader)
		if !filepath.IsLocal(f.Name) || !f.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: member %s (mode %v) is not a regular file in the archive", archive, f.Name, f.Mode())
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", archive, f.Name, err)
		}
		err = writeMember(c.member(f.Name), f.Mode(), rc) // reading to the end checks the CRC-32
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", archive, f.Name, err)
		}
	}
	return c, nil
}

// untarGz extracts a tar.gz into dir and returns its headers. With gzip and
// tar on PATH the work is theirs: decompressing some 40 MB costs a few
// seconds in this race-instrumented process (compress/flate under the race
// detector), a fraction of one in gzip. The headers are still read here,
// from the decompressed tar, which costs nothing: tar.Reader seeks past
// each member's data in an *os.File. gzip -dc checks the CRC and length.
func untarGz(archive, dir string) ([]*tar.Header, error) {
	if !haveTools("gzip", "tar") {
		return untarGzInProcess(archive, dir)
	}
	f, err := os.CreateTemp(filepath.Dir(dir), "*.tar")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	gz := exec.Command("gzip", "-dc", archive)
	var stderr bytes.Buffer
	gz.Stdout, gz.Stderr = f, &stderr
	if err := gz.Run(); err != nil {
		return nil, fmt.Errorf("gzip -dc %s: %v\n%s", archive, err, stderr.Bytes())
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	hdrs, err := tarMembers(f, archive, nil)
	if err != nil {
		return nil, err
	}
	// Every member is a regular file or a directory with a local name
	// (checked above), so tar writes nothing outside dir.
	if b, err := exec.Command("tar", "-xf", f.Name(), "-C", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("tar -xf (%s): %v\n%s", archive, err, b)
	}
	return hdrs, nil
}

// untarGzInProcess is untarGz without gzip and tar (slow under -race).
func untarGzInProcess(archive, dir string) ([]*tar.Header, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	hdrs, err := tarMembers(gz, archive, func(h *tar.Header, tr *tar.Reader) error {
		to := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			return os.MkdirAll(to, 0o755)
		}
		return writeMember(to, h.FileInfo().Mode(), tr)
	})
	if err != nil {
		return nil, err
	}
	// Read to the end: the gzip trailer's CRC and length are checked.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	return hdrs, nil
}

// tarMembers reads a tar stream's headers, refusing a member that is not
// extractable, and hands each member to each (when not nil).
func tarMembers(r io.Reader, archive string, each func(*tar.Header, *tar.Reader) error) ([]*tar.Header, error) {
	var hdrs []*tar.Header
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hdrs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		if err := extractable(h); err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		hdrs = append(hdrs, h)
		if each != nil {
			if err := each(h, tr); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", archive, h.Name, err)
			}
		}
	}
}

// extractable: a member unpack writes, a regular file or a directory, with
// a name inside the directory it unpacks to.
func extractable(h *tar.Header) error {
	if !filepath.IsLocal(h.Name) || (h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeDir) {
		return fmt.Errorf("member %s (type %c) is neither a regular file nor a directory inside the archive", h.Name, h.Typeflag)
	}
	return nil
}

// writeMember writes one member's contents to a new file.
func writeMember(to string, mode os.FileMode, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// The release's files are compared, searched and hashed in chunks: a
// binary read whole costs the race detector far more (the shadow of a
// fresh 30 MB buffer, most of a second) than the work on it.
const chunk = 1 << 20

// sameFile says whether two files hold the same bytes.
func sameFile(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, chunk), make([]byte, chunk)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		endA, endB := ea == io.EOF || ea == io.ErrUnexpectedEOF, eb == io.EOF || eb == io.ErrUnexpectedEOF
		switch {
		case ea != nil && !endA:
			return false, ea
		case eb != nil && !endB:
			return false, eb
		case endA || endB:
			return endA && endB, nil
		}
	}
}

// fileContains says whether the file holds s.
func fileContains(file string, s []byte) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, chunk+len(s))
	kept := 0 // the last len(s)-1 bytes read: s may straddle two reads
	for {
		n, err := f.Read(buf[kept:])
		if bytes.Contains(buf[:kept+n], s) {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		k := min(kept+n, len(s)-1)
		copy(buf, buf[kept+n-k:kept+n])
		kept = k
	}
}

// fileSHA256 is the hex SHA-256 of a file.
func fileSHA256(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, chunk)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TestDistReproducible: two release builds of one source, in two copies at
// different paths and times, give identical bytes; every archive holds the
// plugin's three binaries (front, hot, full) and the credential helper for
// its platform, each built from its package, and the docs; the SBOMs list
// every binary of the archive and the linked modules; checksums.txt is
// sha256sum -c input.
func TestDistReproducible(t *testing.T) {
	t.Parallel()
	a := sharedDist(t)
	other := filepath.Join(t.TempDir(), "another", "clone")
	b := filepath.Join(t.TempDir(), "dist")
	buildDist(t, other, b)
	filesA, filesB := distFiles(t, a), distFiles(t, b)
	if strings.Join(filesA, " ") != strings.Join(filesB, " ") {
		t.Fatalf("the builds wrote different files: %v and %v", filesA, filesB)
	}
	for _, f := range filesA {
		if same, err := sameFile(filepath.Join(a, f), filepath.Join(b, f)); err != nil || !same {
			t.Errorf("%s differs between the two builds (%v)", f, err)
		}
	}
	sums, err := os.ReadFile(filepath.Join(a, release.Checksums))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checksums.txt:\n%s", sums)
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "-c", release.Checksums)
		cmd.Dir = a
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	want := len(release.DefaultPlatforms)
	if distPlatforms() != "" {
		want = 1
	}
	if len(lines) != want {
		t.Fatalf("checksums.txt lists %d archives, want %d", len(lines), want)
	}
	for _, l := range lines {
		name := l[66:]
		var p release.Platform
		for _, s := range release.DefaultPlatforms {
			if q, _ := release.ParsePlatform(s); q.Archive() == name {
				p = q
			}
		}
		if p.OS == "" {
			t.Fatalf("checksums.txt lists %q, no platform's archive", name)
		}
		checkSBOM(t, filepath.Join(a, p.SBOM()), p, checkArchive(t, p))
	}
}

func distFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// releaseBinaries are the binaries of every archive and their packages.
var releaseBinaries = map[string]string{
	"docker-cghistory":            "github.com/docker-cghistory/docker-cghistory/plugin/front",
	"cghistory-hot":               "github.com/docker-cghistory/docker-cghistory/plugin/front/hot",
	"cghistory-full":              "github.com/docker-cghistory/docker-cghistory/plugin",
	"docker-credential-cghistory": "github.com/docker-cghistory/docker-cghistory/credhelper",
}

// checkArchive: the members, their times, and each binary's package,
// platform and version as go version -m reads them; it returns the
// unpacked archive.
func checkArchive(t *testing.T, p release.Platform) *archiveContents {
	t.Helper()
	archive := p.Archive()
	c := sharedArchive(t, p)
	epoch := time.Unix(distEpoch, 0)
	var names []string
	for _, f := range c.zip {
		if !f.Modified.Equal(epoch) {
			t.Errorf("%s: %s has time %v", archive, f.Name, f.Modified)
		}
		names = append(names, f.Name)
	}
	for _, h := range c.tar {
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Typeflag != tar.TypeReg {
			t.Errorf("%s: %s: time %v, uid %d, type %c", archive, h.Name, h.ModTime, h.Uid, h.Typeflag)
		}
		names = append(names, h.Name)
	}
	sort.Strings(names)
	want := []string{"LICENSE", "README.md"}
	for n := range releaseBinaries {
		want = append(want, p.Exe(n))
	}
	sort.Strings(want)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("%s holds %v, want %v", archive, names, want)
	}
	if licence, err := os.ReadFile(c.member("LICENSE")); err != nil || !bytes.Contains(licence, []byte("Apache License")) {
		t.Errorf("%s: LICENSE is not the Apache licence (%v)", archive, err)
	}
	for n, pkg := range releaseBinaries {
		bin := p.Exe(n)
		info, err := buildinfo.ReadFile(c.member(bin))
		if err != nil {
			t.Fatalf("%s in %s: %v", bin, archive, err)
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		arm := ""
		if p.Variant != "" {
			arm = strings.TrimPrefix(p.Variant, "v")
		}
		if info.Path != pkg {
			t.Errorf("%s in %s is built from %s, want %s", bin, archive, info.Path, pkg)
		}
		if settings["GOOS"] != p.OS || settings["GOARCH"] != p.Arch || settings["GOARM"] != arm || settings["CGO_ENABLED"] != "0" ||
			settings["-trimpath"] != "true" {
			t.Errorf("%s in %s was built with %v", bin, archive, settings)
		}
		// -trimpath keeps -ldflags out of the build info: the version set
		// with -X is in the binary's data (the install test runs it);
		// cghistory-hot has no version to show.
		if n != "cghistory-hot" {
			if has, err := fileContains(c.member(bin), []byte(distVersion)); err != nil || !has {
				t.Errorf("%s in %s does not carry the version %s (%v)", bin, archive, distVersion, err)
			}
		}
	}
	return c
}

// checkSBOM: a CycloneDX document naming the project, its version, every
// binary of the archive (with its SHA-256, and the modules it links in the
// dependency graph) and the modules linked in.
func checkSBOM(t *testing.T, file string, p release.Platform, archive *archiveContents) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat string
		Metadata  struct {
			Component struct{ Name, Version string }
		}
		Components []struct {
			BOMRef              string `json:"bom-ref"`
			Type, Name, Version string
			Purl                string
			Hashes              []struct{ Alg, Content string }
		}
		Dependencies []struct {
			Ref       string
			DependsOn []string
		}
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	found := false
	refs := map[string]bool{}
	binaries := map[string]string{} // name → bom-ref
	for _, c := range bom.Components {
		found = found || (c.Name == "github.com/docker/cli" && strings.HasPrefix(c.Purl, "pkg:golang/github.com/docker/cli@v29"))
		refs[c.BOMRef] = true
		if c.Type != "application" {
			continue
		}
		binaries[c.Name] = c.BOMRef
		sum, err := fileSHA256(archive.member(c.Name))
		if !filepath.IsLocal(c.Name) || err != nil || len(c.Hashes) != 1 || c.Hashes[0].Alg != "SHA-256" || c.Hashes[0].Content != sum {
			t.Errorf("%s: binary %s: hashes %+v, not the archive member's (%v)", file, c.Name, c.Hashes, err)
		}
	}
	if bom.BOMFormat != "CycloneDX" || bom.Metadata.Component.Version != distVersion || !found {
		t.Errorf("%s: format %q, subject %+v, docker/cli listed: %v", file, bom.BOMFormat, bom.Metadata.Component, found)
	}
	if len(binaries) != len(releaseBinaries) {
		t.Errorf("%s lists the binaries %v, want %d", file, binaries, len(releaseBinaries))
	}
	links := map[string][]string{}
	for _, d := range bom.Dependencies {
		links[d.Ref] = d.DependsOn
		for _, r := range d.DependsOn {
			if !refs[r] {
				t.Errorf("%s: %s depends on %s, no component", file, d.Ref, r)
			}
		}
	}
	// The front links docker/cli (its metadata type), the full binary
	// sigstore-go; the front does not.
	has := func(bin, mod string) bool {
		for _, r := range links[binaries[p.Exe(bin)]] {
			if strings.HasPrefix(r, "pkg:golang/"+mod+"@") {
				return true
			}
		}
		return false
	}
	if !has("docker-cghistory", "github.com/docker/cli") || !has("cghistory-full", "github.com/sigstore/sigstore-go") ||
		has("docker-cghistory", "github.com/sigstore/sigstore-go") {
		t.Errorf("%s: the dependency graph does not say what each binary links: %v", file, links)
	}
}

// serveRelease serves dir as a GitHub release of distVersion and as the
// latest one, on 127.0.0.1, and returns the base URL for
// CGHISTORY_DOWNLOAD_URL.
func serveRelease(t *testing.T, dir string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/releases/download/"+distVersion+"/")
		if !ok {
			rest, ok = strings.CutPrefix(r.URL.Path, "/releases/latest/download/")
		}
		if !ok || strings.Contains(rest, "/") {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(dir, path.Base(rest)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/releases"
}

// copyDist copies a dist directory, so a test may damage its copy. It
// copies with copyFile, *os.File to *os.File, which the kernel does
// (copy_file_range): the bytes do not pass through this race-instrumented
// process.
func copyDist(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, n := range distFiles(t, src) {
		copyFile(t, filepath.Join(src, n), filepath.Join(dst, n), 0o644)
	}
	return dst
}

// installer is a fresh machine for scripts/get.sh: an empty DOCKER_CONFIG
// (no plugins), an empty BINDIR and TMPDIR, and the download URL.
type installer struct {
	d       *dockerEnv
	plugins string
	bindir  string
	tmp     string
	env     []string
}

func newInstaller(t *testing.T, url string) *installer {
	d := newDockerEnv(t, "")
	plugins := filepath.Join(d.config, "cli-plugins")
	if err := os.RemoveAll(plugins); err != nil {
		t.Fatal(err)
	}
	in := &installer{d: d, plugins: plugins, bindir: filepath.Join(t.TempDir(), "bin"), tmp: t.TempDir()}
	in.env = append(append([]string{}, d.env...), "BINDIR="+in.bindir, "TMPDIR="+in.tmp, "HOME="+t.TempDir(), "CGHISTORY_DOWNLOAD_URL="+url)
	return in
}

// get runs scripts/get.sh under POSIX sh; extra is more environment.
func (in *installer) get(t *testing.T, extra []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"../scripts/get.sh"}, args...)...)
	cmd.Env = append(append([]string{}, in.env...), extra...)
	out, err := cmd.CombinedOutput()
	t.Logf("get.sh %v:\n%s", args, out)
	if left, _ := os.ReadDir(in.tmp); len(left) > 0 {
		t.Errorf("get.sh left %d files in TMPDIR", len(left))
	}
	return string(out), err
}

// installed lists what is in the two directories get.sh writes.
func (in *installer) installed(t *testing.T) []string {
	t.Helper()
	var got []string
	for _, dir := range []string{in.plugins, in.bindir} {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			got = append(got, e.Name())
		}
	}
	sort.Strings(got)
	return got
}

// TestGetInstallsARelease: the installer, against a local server holding
// dist/, installs the latest release; docker runs it (its metadata, its
// version, its User-Agent carry the version); installing again changes
// nothing; a version that does not exist is a clear error; --uninstall
// removes exactly the six files and leaves other plugins alone. It installs
// the plugin's three binaries as make install does: the front, whose
// metadata docker reads, hands on to cghistory-full and cghistory-hot.
func TestGetInstallsARelease(t *testing.T) {
	t.Parallel()
	dist := sharedDist(t)
	in := newInstaller(t, serveRelease(t, dist))
	out, err := in.get(t, nil)
	if err != nil || !strings.Contains(out, "SHA-256 verified") || !strings.Contains(out, "docker cghistory "+distVersion+" is ready") {
		t.Fatalf("install: %v\n%s", err, out)
	}
	all := []string{"cghistory-full", "cghistory-hot", "docker-cgdiff", "docker-cghistory", "docker-cgpin", "docker-credential-cghistory"}
	if got := in.installed(t); strings.Join(got, " ") != strings.Join(all, " ") {
		t.Fatalf("installed %v, want %v", got, all)
	}
	p, _ := release.ParsePlatform(runtime.GOOS + "/" + runtime.GOARCH)
	archive := sharedArchive(t, p)
	for _, n := range []string{"docker-cghistory", "cghistory-hot", "cghistory-full"} {
		if same, err := sameFile(filepath.Join(in.plugins, n), archive.member(n)); err != nil || !same {
			t.Errorf("%s is not the archive's (%v)", n, err)
		}
	}
	// Completion goes through the front to cghistory-hot and on to
	// cghistory-full.
	if r := in.d.docker("__complete", "cghistory", "").ok(t); !strings.Contains(r.stdout, "tags") {
		t.Errorf("completion through the front lacks the tags subcommand:\n%s", r.stdout)
	}
	if l, err := os.Readlink(filepath.Join(in.plugins, "docker-cgpin")); err != nil || l != "docker-cghistory" {
		t.Errorf("docker-cgpin: %q, %v; want a symlink to docker-cghistory", l, err)
	}
	if r := in.d.docker("cghistory", "version").ok(t); !strings.HasPrefix(r.stdout, "docker-cghistory "+distVersion+" ") {
		t.Errorf("docker cghistory version: %q", r.stdout)
	}
	if r := in.d.docker("info", "--format", "{{range .ClientInfo.Plugins}}{{.Name}}={{.Version}} {{end}}").ok(t); !strings.Contains(r.stdout, "cgpin="+distVersion) {
		t.Errorf("docker info lists %q", r.stdout)
	}
	if b, err := exec.Command(filepath.Join(in.bindir, "docker-credential-cghistory"), "version").Output(); err != nil || !strings.Contains(string(b), distVersion) {
		t.Errorf("docker-credential-cghistory version: %q, %v", b, err)
	}
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/static", "latest", t0, "linux/amd64")
	if r := in.d.docker("cghistory", "-q", s.Ref("chainguard/static", "latest")).ok(t); strings.TrimSpace(r.stdout) != img.Digest.String() {
		t.Errorf("docker cghistory -q: %q", r.stdout)
	}
	if ua := strings.Join(s.UserAgents(), " "); !strings.Contains(ua, "docker-cghistory/"+distVersion) {
		t.Errorf("User-Agents: %s", ua)
	}

	if out, err := in.get(t, nil, "--version", distVersion); err != nil || !strings.Contains(out, "is ready") {
		t.Fatalf("installing again: %v\n%s", err, out)
	}
	if got := in.installed(t); strings.Join(got, " ") != strings.Join(all, " ") {
		t.Fatalf("installed again: %v", got)
	}
	out, err = in.get(t, nil, "--version", "v0.0.1")
	if err == nil || !strings.Contains(out, "no release v0.0.1") {
		t.Errorf("a missing version: %v\n%s", err, out)
	}

	// Other plugins and programs stay where they are.
	for _, f := range []string{filepath.Join(in.plugins, "docker-buildx"), filepath.Join(in.bindir, "other")} {
		if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := in.get(t, nil, "--uninstall"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	if got := in.installed(t); strings.Join(got, " ") != "docker-buildx other" {
		t.Errorf("after --uninstall: %v", got)
	}

	// Another project's file under one of the new names stays too.
	if out, err := in.get(t, nil); err != nil {
		t.Fatalf("installing: %v\n%s", err, out)
	}
	foreign := filepath.Join(in.plugins, "cghistory-hot")
	if err := os.WriteFile(foreign, []byte("#!/bin/sh\necho another hot\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := in.get(t, nil, "--uninstall"); err != nil || strings.Contains(out, foreign) {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	if got := in.installed(t); strings.Join(got, " ") != "cghistory-hot docker-buildx other" {
		t.Errorf("after --uninstall: %v", got)
	}
}

// TestGetRefuses: an archive that does not match checksums.txt, one
// checksums.txt does not list, a release without checksums.txt, and (with
// cosign on PATH) a signature that does not verify or is missing: each is
// refused with the reason, and nothing is installed or left behind. cosign
// is a stand-in script here: Sigstore's public instance cannot be reached
// from the tests.
func TestGetRefuses(t *testing.T) {
	t.Parallel()
	dist := sharedDist(t)
	p, _ := release.ParsePlatform(runtime.GOOS + "/" + runtime.GOARCH)
	// cosign puts a stand-in cosign on PATH that logs its arguments to the
	// returned file and exits with exit; each subtest has its own, so they
	// run in parallel.
	cosign := func(t *testing.T, exit int) (env []string, log string) {
		dir := t.TempDir()
		log = filepath.Join(dir, "args")
		script := "#!/bin/sh\necho \"$@\" >>'" + log + "'\nexit " + string(rune('0'+exit)) + "\n"
		if err := os.WriteFile(filepath.Join(dir, "cosign"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}, log
	}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		cosign int // -1: no cosign on PATH
		want   string
	}{
		{"corrupted archive", func(t *testing.T, dir string) {
			// One byte in the middle flipped, in place: the archive is
			// not read into this race-instrumented process whole.
			f, err := os.OpenFile(filepath.Join(dir, p.Archive()), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 1)
			if _, err := f.ReadAt(b, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
			b[0] ^= 0xff
			if _, err := f.WriteAt(b, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, -1, "is not the"},
		{"archive not listed", func(_ *testing.T, dir string) {
			_ = os.WriteFile(filepath.Join(dir, release.Checksums), []byte(strings.Repeat("0", 64)+"  other.tar.gz\n"), 0o644)
		}, -1, "checksums.txt lists no " + p.Archive()},
		{"no checksums.txt", func(_ *testing.T, dir string) { _ = os.Remove(filepath.Join(dir, release.Checksums)) }, -1, "could not download"},
		{"signature does not verify", func(_ *testing.T, dir string) {
			_ = os.WriteFile(filepath.Join(dir, "checksums.txt.sigstore.json"), []byte("{}"), 0o644)
		}, 1,
			"Sigstore signature of checksums.txt does not verify"},
		{"no signature", func(*testing.T, string) {}, 0, "no checksums.txt.sigstore.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copyDist(t, dist)
			tc.damage(t, dir)
			in := newInstaller(t, serveRelease(t, dir))
			var extra []string
			if tc.cosign >= 0 {
				extra, _ = cosign(t, tc.cosign)
			}
			out, err := in.get(t, extra)
			if err == nil || !strings.Contains(out, tc.want) || !strings.Contains(out, "nothing installed") {
				t.Errorf("want a refusal naming %q: %v\n%s", tc.want, err, out)
			}
			if got := in.installed(t); len(got) > 0 {
				t.Errorf("installed %v", got)
			}
		})
	}
	t.Run("no network", func(t *testing.T) {
		t.Parallel()
		in := newInstaller(t, "http://127.0.0.1:1/releases")
		if out, err := in.get(t, nil); err == nil || !strings.Contains(out, "or no network") || len(in.installed(t)) > 0 {
			t.Errorf("%v\n%s", err, out)
		}
	})
	t.Run("unsupported platform", func(t *testing.T) {
		t.Parallel()
		fake := t.TempDir()
		if err := os.WriteFile(filepath.Join(fake, "uname"), []byte("#!/bin/sh\necho SunOS\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		in := newInstaller(t, serveRelease(t, dist))
		out, err := in.get(t, []string{"PATH=" + fake + string(os.PathListSeparator) + os.Getenv("PATH")})
		if err == nil || !strings.Contains(out, `no release for the operating system "SunOS"`) || len(in.installed(t)) > 0 {
			t.Errorf("%v\n%s", err, out)
		}
	})
	for _, name := range []string{"docker-cgpin", "cghistory-full", "cghistory-hot"} {
		t.Run("another project's "+name, func(t *testing.T) {
			t.Parallel()
			in := newInstaller(t, serveRelease(t, dist))
			foreign := filepath.Join(in.plugins, name)
			if err := os.MkdirAll(in.plugins, 0o755); err != nil {
				t.Fatal(err)
			}
			script := "#!/bin/sh\necho another " + name + "\n"
			if err := os.WriteFile(foreign, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := in.get(t, nil)
			if err == nil || !strings.Contains(out, foreign+" exists and is not docker-cghistory's") {
				t.Errorf("%v\n%s", err, out)
			}
			if got := in.installed(t); strings.Join(got, " ") != name {
				t.Errorf("installed %v", got)
			}
			if b, _ := os.ReadFile(foreign); string(b) != script {
				t.Errorf("the other project's file was rewritten: %q", b)
			}
		})
	}
	t.Run("signature verifies", func(t *testing.T) {
		t.Parallel()
		dir := copyDist(t, dist)
		if err := os.WriteFile(filepath.Join(dir, "checksums.txt.sigstore.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		withCosign, cosignLog := cosign(t, 0)
		in := newInstaller(t, serveRelease(t, dir))
		if out, err := in.get(t, withCosign); err != nil || !strings.Contains(out, "Sigstore signature verified") {
			t.Fatalf("%v\n%s", err, out)
		}
		args, _ := os.ReadFile(cosignLog)
		if !strings.Contains(string(args), "verify-blob --bundle") || !strings.Contains(string(args), "--certificate-oidc-issuer https://token.actions.githubusercontent.com") ||
			!strings.Contains(string(args), `docker-cghistory/\.github/workflows/release\.yml@refs/tags/v`) {
			t.Errorf("cosign ran with %s", args)
		}
	})
}

// TestReleaseImage: make image's builder on the test registry's base image
// (no docker daemon): an OCI layout whose image runs the plugin as a
// non-root entrypoint, with OCI labels, and whose layer holds the archive's
// cghistory-full alone (no front: the image has no docker CLI), which runs
// standalone ("cgpin --check ." as arguments).
func TestReleaseImage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image holds a linux binary")
	}
	t.Parallel()
	dist := copyDist(t, sharedDist(t))
	s := registrytest.New(t)
	s.Push(t, "chainguard/static", "latest", t0, "linux/"+runtime.GOARCH)
	cmd := exec.Command("go", "run", "./scripts/release", "image", "-version", distVersion, "-revision", "0123abc",
		"-epoch", "1700000000", "-base", s.Ref("chainguard/static", "latest"), "-platforms", "linux/"+runtime.GOARCH, "-out", dist)
	// In the source copy the shared build ran go run in: go caches the
	// release command it built there, where in .. (another directory, so
	// other action IDs without -trimpath) it would compile and link it anew.
	cmd.Dir = shared.src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release image: %v\n%s", err, out)
	}
	idx, err := layout.ImageIndexFromPath(filepath.Join(dist, "image"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Fatalf("index: %+v", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != release.ImageBinary || c.User != "65532:65532" ||
		c.Labels["org.opencontainers.image.version"] != distVersion || c.Labels["org.opencontainers.image.revision"] != "0123abc" ||
		c.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" || c.Labels["org.opencontainers.image.source"] == "" {
		t.Errorf("config: entrypoint %v, user %q, labels %v", c.Entrypoint, c.User, c.Labels)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	// The top layer's blob in the layout, unpacked by gzip and tar rather
	// than decompressed in this race-instrumented process (Uncompressed).
	digest, err := layers[len(layers)-1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	layer, err := unpack(filepath.Join(dist, "image", "blobs", digest.Algorithm, digest.Hex), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, h := range layer.tar {
		if h.Typeflag != tar.TypeDir {
			files = append(files, "/"+h.Name)
		}
	}
	if strings.Join(files, " ") != release.ImageBinary {
		t.Fatalf("the top layer holds %v, want %s alone", files, release.ImageBinary)
	}
	bin := layer.member(release.ImageBinary[1:])
	p, _ := release.ParsePlatform("linux/" + runtime.GOARCH)
	if same, err := sameFile(bin, sharedArchive(t, p).member("cghistory-full")); err != nil || !same {
		t.Errorf("%s is not the archive's cghistory-full (%v)", release.ImageBinary, err)
	}
	// As the container runs it: the entrypoint, then the arguments.
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(bin, "cghistory", "version")
	run.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "CGHISTORY_CACHE_DIR="+filepath.Join(t.TempDir(), "cache"))
	if out, err := run.CombinedOutput(); err != nil || !strings.Contains(string(out), distVersion) {
		t.Errorf("cghistory version: %v\n%s", err, out)
	}
	run = exec.Command(bin, "cgpin", "--check", ".")
	run.Dir, run.Env = work, append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "CGHISTORY_CACHE_DIR="+filepath.Join(t.TempDir(), "cache"))
	if out, err := run.CombinedOutput(); err != nil {
		t.Errorf("cgpin --check .: %v\n%s", err, out)
	}
}

// TestGitHubActionRelease: at a release tag the action installs that
// release (verified, through get.sh) on a fresh runner and never builds:
// make is a script that fails here.
func TestGitHubActionRelease(t *testing.T) {
	t.Parallel()
	url := serveRelease(t, sharedDist(t))
	s := registrytest.New(t)
	s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")
	d := newDockerEnv(t, "")
	if err := os.RemoveAll(filepath.Join(d.config, "cli-plugins")); err != nil {
		t.Fatal(err)
	}
	noMake := t.TempDir()
	if err := os.WriteFile(filepath.Join(noMake, "make"), []byte("#!/bin/sh\necho 'make: not on a release' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	df := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM "+ref+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(append([]string{}, d.env...), "PATH="+noMake+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+t.TempDir(), "CGHISTORY_DOWNLOAD_URL="+url, "CGPIN_ACTION_REF="+distVersion)
	start := time.Now()
	o, summary, err := runAction(t, env, "INPUT_PATHS="+df, "INPUT_MODE=check")
	t.Logf("the action's time to its first check, from a release: %v", time.Since(start).Round(time.Millisecond))
	if o["changed"] != "true" || !strings.Contains(summary, "| `"+df+":1` | `"+ref+"`") {
		t.Errorf("check: %v, outputs %v\nsummary:\n%s", err, o, summary)
	}
	if r := d.docker("info", "--format", "{{range .ClientInfo.Plugins}}{{.Name}}={{.Version}} {{end}}").ok(t); !strings.Contains(r.stdout, "cgpin="+distVersion) {
		t.Errorf("docker info lists %q", r.stdout)
	}
	// The plugin's three binaries, as get.sh installs them.
	for _, n := range []string{"docker-cghistory", "cghistory-hot", "cghistory-full"} {
		if fi, err := os.Lstat(filepath.Join(d.config, "cli-plugins", n)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("cli-plugins/%s: %v", n, err)
		}
	}
}
