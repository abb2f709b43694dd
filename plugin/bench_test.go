package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// BenchmarkMetadata is docker's plugin probe: `docker-cghistory
// docker-cli-plugin-metadata`, run for every `docker --help` and `docker info`.
func BenchmarkMetadata(b *testing.B) {
	for range b.N {
		out, err := exec.Command(pluginBinary, "docker-cli-plugin-metadata").Output()
		if err != nil || len(out) == 0 {
			b.Fatalf("metadata: %v", err)
		}
	}
}

// benchCall runs whole `docker-cghistory cghistory …` processes (config
// loading, credential lookup, start-up included) against the test registry
// with 20 ms of latency per request.
func benchCall(b *testing.B, warm bool, args ...string) {
	s := registrytest.New(b)
	for i := range 50 {
		s.Push(b, "chainguard/nginx", "latest", t0.Add(time.Duration(i)*time.Hour))
	}
	s.SetLatency(20 * time.Millisecond)
	cfg := b.TempDir()
	cache := filepath.Join(b.TempDir(), "cache")
	run := func(cache string) {
		cmd := exec.Command(pluginBinary, append([]string{"cghistory"}, append(args, s.Ref("chainguard/nginx", "latest"))...)...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg, "CGHISTORY_CACHE_DIR="+cache)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
	runBench(b, s, warm, cache, run)
	c := s.Counts()
	b.ReportMetric(float64(c.Total)/float64(b.N), "req/op")
	b.ReportMetric(float64(c.Manifest+c.Blob)/float64(b.N), "manifests/op")
	b.ReportMetric(float64(c.Bytes)/float64(b.N), "wire-B/op")
}

func BenchmarkCallCold(b *testing.B)          { benchCall(b, false) }
func BenchmarkCallWarm(b *testing.B)          { benchCall(b, true) }
func BenchmarkCallPlatformsCold(b *testing.B) { benchCall(b, false, "--platforms") }
func BenchmarkCallPlatformsWarm(b *testing.B) { benchCall(b, true, "--platforms") }

// benchComplete runs `docker-cghistory __complete cghistory ARG` (what
// `docker __complete` runs) for builds back ("nginx~"), with 20 ms of
// latency per request: cold (empty caches: the history is read within the
// deadline) and warm (from the cache, no request).
func benchComplete(b *testing.B, warm bool, arg string) {
	s := registrytest.New(b)
	for i := range 50 {
		s.Push(b, "chainguard/nginx", "latest", t0.Add(time.Duration(i)*time.Hour), "linux/amd64")
	}
	s.SetLatency(20 * time.Millisecond)
	cfg := b.TempDir()
	cache := filepath.Join(b.TempDir(), "cache")
	run := func(cache string) {
		cmd := exec.Command(pluginBinary, "__complete", "cghistory", arg)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg, "CGHISTORY_CACHE_DIR="+cache, "CGHISTORY_NAMESPACE="+s.Host+"/chainguard")
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "nginx") {
			b.Fatalf("%v: %s", err, out)
		}
	}
	runBench(b, s, warm, cache, run)
	b.ReportMetric(float64(s.Counts().Total)/float64(b.N), "req/op")
}

func BenchmarkCompleteBuildsCold(b *testing.B) { benchComplete(b, false, "nginx~") }
func BenchmarkCompleteBuildsWarm(b *testing.B) { benchComplete(b, true, "nginx~") }
func BenchmarkCompleteTagsCold(b *testing.B)   { benchComplete(b, false, "nginx:") }

// BenchmarkHook is docker's hook call after `docker build`: the plugin
// reads ./Dockerfile and answers from local data only.
func BenchmarkHook(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM cgr.dev/chainguard/go:latest AS build\nRUN make\nFROM cgr.dev/chainguard/static:latest\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		cmd := exec.Command(pluginBinary, "cghistory", "docker-cli-plugin-hooks", `{"RootCmd":"build","Flags":{"t":""},"CommandError":""}`)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+b.TempDir(), "CGHISTORY_CACHE_DIR="+b.TempDir())
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "2 base images are unpinned") {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

// benchVerify runs `cghistory --verify -n 30` over 30 signed builds with
// 20 ms of latency per request: cold (every signature fetched and checked,
// concurrently) and warm (verifications cached by digest).
func benchVerify(b *testing.B, warm bool) {
	const signer = "https://github.com/acme/images/.github/workflows/release.yaml@refs/heads/main"
	const issuer = "https://token.actions.githubusercontent.com"
	s := registrytest.New(b)
	sig := registrytest.NewSigstore(b)
	for i := range 30 {
		img := s.Push(b, "acme/app", "latest", time.Now().Add(-time.Duration(30-i)*time.Hour), "linux/amd64")
		s.SignCosign(b, sig, "acme/app", img.Digest, signer, issuer, registrytest.SignOptions{})
	}
	root := filepath.Join(b.TempDir(), "trusted_root.json")
	if err := os.WriteFile(root, sig.TrustedRootJSON(b), 0o644); err != nil {
		b.Fatal(err)
	}
	s.SetLatency(20 * time.Millisecond)
	cfg := b.TempDir()
	cache := filepath.Join(b.TempDir(), "cache")
	run := func(cache string) {
		cmd := exec.Command(pluginBinary, "cghistory", "--verify", "-n", "30", "--certificate-identity", signer,
			"--certificate-oidc-issuer", issuer, "--trusted-root", root, "--format", "{{.Signature}}", s.Ref("acme/app", "latest"))
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg, "CGHISTORY_CACHE_DIR="+cache)
		out, err := cmd.Output()
		if err != nil || strings.Count(string(out), "verified") != 30 {
			b.Fatalf("%v: %s", err, out)
		}
	}
	runBench(b, s, warm, cache, run)
	b.ReportMetric(float64(s.Counts().Total)/float64(b.N), "req/op")
}

func BenchmarkVerifyHistoryCold(b *testing.B) { benchVerify(b, false) }
func BenchmarkVerifyHistoryWarm(b *testing.B) { benchVerify(b, true) }

// runBench times run: warm, in one cache directory filled by a first run;
// cold, in a new one each time. Counts start after the warm-up.
func runBench(b *testing.B, s *registrytest.Server, warm bool, cache string, run func(cache string)) {
	if warm {
		run(cache)
	}
	s.ResetCounts()
	b.ResetTimer()
	for i := range b.N {
		if warm {
			run(cache)
		} else {
			run(filepath.Join(cache, strconv.Itoa(i)))
		}
	}
	b.StopTimer()
}
