package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/history/cached"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// barePlugin is the smallest docker CLI plugin docker/cli's plugin.Run
// makes: the yardstick of the start-up benchmarks.
const barePlugin = `package main

import (
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

func main() {
	plugin.Run(func(command.Cli) *cobra.Command {
		return &cobra.Command{Use: "bare", RunE: func(*cobra.Command, []string) error { return nil }}
	}, metadata.Metadata{SchemaVersion: "0.1.0", Vendor: "bare"})
}
`

// buildBare builds barePlugin as the project's binaries are built
// (make build's flags), with this module's dependencies.
func buildBare(b *testing.B) string {
	dir := b.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(barePlugin), 0o644); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "docker-bare")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, src)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build the bare plugin: %v\n%s", err, msg)
	}
	return out
}

// benchStartup times one of docker's hot paths against the bare plugin's
// metadata probe, alternating the two in every iteration (a busy machine
// slows both alike), and reports the medians and their ratio.
func benchStartup(b *testing.B, dir string, env []string, check string, args ...string) {
	ours, bare := filepath.Join(built(b, "-s -w"), "docker-cghistory"), buildBare(b)
	time1 := func(bin string, args ...string) (time.Duration, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		start := time.Now()
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%s %v: %v", bin, args, err)
		}
		return time.Since(start), string(out)
	}
	var t, tb []time.Duration
	b.ResetTimer()
	for range b.N {
		d, out := time1(ours, args...)
		if !strings.Contains(out, check) {
			b.Fatalf("%v: %q lacks %q", args, out, check)
		}
		db, _ := time1(bare, "docker-cli-plugin-metadata")
		t, tb = append(t, d), append(tb, db)
	}
	b.StopTimer()
	m, mb := median(t), median(tb)
	b.ReportMetric(float64(m.Microseconds())/1000, "ms/op")
	b.ReportMetric(float64(mb.Microseconds())/1000, "bare-metadata-ms/op")
	b.ReportMetric(float64(m)/float64(mb), "x-bare")
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkStartupMetadata is docker's metadata probe (every `docker
// --help`, `docker info`, before every plugin command and completion).
// Goal: at most 0.4 x-bare.
func BenchmarkStartupMetadata(b *testing.B) {
	benchStartup(b, b.TempDir(), nil, `"Vendor": "docker-cghistory"`, "docker-cli-plugin-metadata")
}

// BenchmarkStartupHook is docker's hook after `docker build`. Goal: at
// most 1.1 x-bare.
func BenchmarkStartupHook(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM cgr.dev/chainguard/go:latest AS build\nRUN make\nFROM cgr.dev/chainguard/static:latest\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	benchStartup(b, dir, []string{"DOCKER_CONFIG=" + b.TempDir(), "CGHISTORY_CACHE_DIR=" + b.TempDir()}, "2 base images are unpinned",
		"cghistory", "docker-cli-plugin-hooks", `{"RootCmd":"build","Flags":{"t":""},"CommandError":""}`)
}

// BenchmarkStartupCompleteWarm is `docker __complete cghistory nginx~`
// (the plugin's __complete) answered from a warm cache: no registry is
// running, none is asked. Goal: at most 1.1 x-bare.
func BenchmarkStartupCompleteWarm(b *testing.B) {
	dir := b.TempDir()
	c := cache.New(dir, 0)
	tag, err := name.NewTag("127.0.0.1:9/chainguard/nginx:latest")
	if err != nil {
		b.Fatal(err)
	}
	var entries []cached.Entry
	for i := range 50 {
		entries = append(entries, cached.Entry{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 62) + string(rune('a'+i%26)) + "0"}, UpdatedAt: time.Now().Add(-time.Duration(i) * time.Hour)})
	}
	cached.Remember(c, tag, entries)
	benchStartup(b, b.TempDir(), []string{"DOCKER_CONFIG=" + b.TempDir(), "CGHISTORY_CACHE_DIR=" + dir, "CGHISTORY_NAMESPACE=127.0.0.1:9/chainguard"}, "nginx~0\t",
		"__complete", "cghistory", "nginx~")
}
