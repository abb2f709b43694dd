// Package release builds the project's release artifacts: reproducible
// archives per platform, their SHA-256 checksums, a CycloneDX SBOM per
// archive, and the OCI image. It runs "go build" and knows nothing of
// terminals; scripts/release is its command line.
package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Project is the name of the plugin's front (the file docker runs) and the
// prefix of every archive.
const Project = "docker-cghistory"

// The binaries the front hands docker's calls to, installed next to it
// (plugin/front's FullName and HotName).
const (
	Full = "cghistory-full"
	Hot  = "cghistory-hot"
)

// Helper is the credential helper's binary name.
const Helper = "docker-credential-cghistory"

// Binaries are the binaries of every archive, by name (".exe" added on
// windows), with their packages: the plugin's three (as make install
// installs them) and the credential helper.
var Binaries = []struct{ Name, Package string }{
	{Project, "./plugin/front"},
	{Hot, "./plugin/front/hot"},
	{Full, "./plugin"},
	{Helper, "./credhelper"},
}

// DefaultPlatforms are the platforms a release is built for.
var DefaultPlatforms = []string{
	"linux/amd64", "linux/arm64", "linux/arm/v7",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
}

// Platform is one build target.
type Platform struct {
	OS, Arch, Variant string // GOOS, GOARCH, and "v7" for GOARM=7
}

// ParsePlatform reads "os/arch" or "linux/arm/v7".
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	var p Platform
	switch len(parts) {
	case 3:
		p.Variant = parts[2]
		fallthrough
	case 2:
		p.OS, p.Arch = parts[0], parts[1]
	default:
		return p, fmt.Errorf("platform %q: want OS/ARCH or OS/ARCH/VARIANT", s)
	}
	if p.OS == "" || p.Arch == "" || (p.Variant != "" && (p.Arch != "arm" || !strings.HasPrefix(p.Variant, "v"))) {
		return p, fmt.Errorf("platform %q: want OS/ARCH, or linux/arm/vN", s)
	}
	return p, nil
}

func (p Platform) String() string {
	if p.Variant != "" {
		return p.OS + "/" + p.Arch + "/" + p.Variant
	}
	return p.OS + "/" + p.Arch
}

// Exe is the file name of binary name on p (".exe" on windows).
func (p Platform) Exe(name string) string {
	if p.OS == "windows" {
		return name + ".exe"
	}
	return name
}

// Archive is the archive's file name: docker-cghistory_linux_arm-v7.tar.gz,
// docker-cghistory_windows_amd64.zip. Names carry no version, so the
// installer finds the latest release's archive without asking an API.
func (p Platform) Archive() string {
	arch := p.Arch
	if p.Variant != "" {
		arch += "-" + p.Variant
	}
	ext := ".tar.gz"
	if p.OS == "windows" {
		ext = ".zip"
	}
	return Project + "_" + p.OS + "_" + arch + ext
}

// SBOM is the file name of the archive's SBOM.
func (p Platform) SBOM() string {
	return strings.TrimSuffix(strings.TrimSuffix(p.Archive(), ".zip"), ".tar.gz") + ".cdx.json"
}

// Checksums is the name of the checksum file, in sha256sum -c format.
const Checksums = "checksums.txt"

// Options say what Dist builds.
type Options struct {
	Source    string     // the module's root directory
	Out       string     // the output directory (dist/)
	Version   string     // the version, as git describe prints it
	Platforms []Platform // targets; DefaultPlatforms when empty
	// Epoch is the time every archive member and SBOM carries (the commit's
	// time, or SOURCE_DATE_EPOCH), so two builds give the same bytes.
	Epoch time.Time
	// Docs are files of Source packed into every archive (LICENSE, README.md).
	Docs []string
	Log  io.Writer // the build's progress and the go tool's output
}

// Dist builds the Binaries for every platform, packs each platform's
// archive with the docs, writes an SBOM per archive (covering every binary) and
// checksums.txt. The bytes depend only on the source, the version, the epoch
// and the Go toolchain: -trimpath, no build ID, no VCS stamping, no cgo,
// sorted archive members with fixed times and owners.
func Dist(ctx context.Context, opts Options) error {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if len(opts.Platforms) == 0 {
		for _, s := range DefaultPlatforms {
			p, _ := ParsePlatform(s)
			opts.Platforms = append(opts.Platforms, p)
		}
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "cghistory-dist-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var sums []string
	for _, p := range opts.Platforms {
		fmt.Fprintf(opts.Log, "dist: %s\n", p)
		dir := filepath.Join(work, strings.ReplaceAll(p.String(), "/", "_"))
		if err := build(ctx, opts, p, dir); err != nil {
			return err
		}
		var files []file
		var bins []string
		for _, b := range Binaries {
			out := filepath.Join(dir, p.Exe(b.Name))
			files = append(files, file{name: p.Exe(b.Name), path: out, mode: 0o755})
			bins = append(bins, out)
		}
		for _, d := range opts.Docs {
			files = append(files, file{name: filepath.Base(d), path: filepath.Join(opts.Source, d), mode: 0o644})
		}
		archive := filepath.Join(opts.Out, p.Archive())
		if err := writeArchive(archive, files, opts.Epoch, p.OS == "windows"); err != nil {
			return fmt.Errorf("%s: %w", p.Archive(), err)
		}
		sbom, err := SBOM(opts.Version, opts.Epoch, bins...)
		if err != nil {
			return fmt.Errorf("SBOM of %s: %w", p.Archive(), err)
		}
		if err := os.WriteFile(filepath.Join(opts.Out, p.SBOM()), sbom, 0o644); err != nil {
			return err
		}
		sum, err := fileSHA256(archive)
		if err != nil {
			return err
		}
		sums = append(sums, sum+"  "+p.Archive()+"\n")
	}
	sort.Slice(sums, func(i, j int) bool { return sums[i][66:] < sums[j][66:] })
	return os.WriteFile(filepath.Join(opts.Out, Checksums), []byte(strings.Join(sums, "")), 0o644)
}

// build runs one go build for all the Binaries of p, reproducibly, and
// names them as the archive does in dir. One go build rather than one per
// binary: go links them in parallel, and the bytes are the same (an
// executable does not hold its file name).
func build(ctx context.Context, opts Options, p Platform, dir string) error {
	// go build -o DIR names each binary after its package's last path
	// element; they are renamed below.
	bin := filepath.Join(dir, "go-build")
	args := []string{"build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid= -X main.version=" + opts.Version, "-o", bin + string(filepath.Separator)}
	built := map[string]string{} // go build's name → the archive's name
	var pkgs []string
	for _, b := range Binaries {
		name := p.Exe(path.Base(b.Package))
		if _, dup := built[name]; dup {
			return fmt.Errorf("go build would write two binaries named %s for %s", name, p)
		}
		built[name] = p.Exe(b.Name)
		pkgs = append(pkgs, b.Package)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkgs...)...)
	cmd.Dir = opts.Source
	cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	// Only what the platform sets: a GOAMD64, GOEXPERIMENT or GOFLAGS of
	// the caller's would change the bytes.
	env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Arch, "GOFLAGS=", "GOAMD64=", "GOARM64=", "GOEXPERIMENT=", "GOARM="}
	if p.Variant != "" {
		env[len(env)-1] = "GOARM=" + strings.TrimPrefix(p.Variant, "v")
	}
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w", strings.Join(pkgs, " "), p, err)
	}
	for from, to := range built {
		if err := os.Rename(filepath.Join(bin, from), filepath.Join(dir, to)); err != nil {
			return fmt.Errorf("go build for %s: %w", p, err)
		}
	}
	return os.Remove(bin)
}

// file is one archive member.
type file struct {
	name string
	path string
	mode int64
}

// writeArchive writes files (in name order) into a tar.gz or a zip, each
// with the epoch as its time, owned by root, through a temp file renamed into
// place.
func writeArchive(path string, files []file, epoch time.Time, isZip bool) error {
	files = append([]file(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	var buf bytes.Buffer
	var err error
	if isZip {
		err = writeZip(&buf, files, epoch)
	} else {
		err = writeTarGz(&buf, files, epoch)
	}
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeTarGz(w io.Writer, files []file, epoch time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, f := range files {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(b)), ModTime: epoch.UTC(),
			Typeflag: tar.TypeReg, Uname: "root", Gname: "root", Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, files []file, epoch time.Time) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: epoch.UTC()}
		hdr.SetMode(os.FileMode(f.mode))
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := fw.Write(b); err != nil {
			return err
		}
	}
	return zw.Close()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
