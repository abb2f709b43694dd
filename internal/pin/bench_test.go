package pin

import (
	"context"
	"fmt"
	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// The monorepo workload of the cgpin issue: 200 Dockerfiles naming 20
// distinct images, against a registry 20 ms away.
const (
	benchFiles   = 200
	benchImages  = 20
	benchLatency = 20 * time.Millisecond
)

func benchRegistry(b *testing.B) (*registrytest.Server, []string) {
	return benchRegistryTag(b, "latest")
}

func benchRegistryTag(b *testing.B, tag string) (*registrytest.Server, []string) {
	s := registrytest.New(b)
	var refs []string
	for i := range benchImages {
		repo := fmt.Sprintf("chainguard/img%02d", i)
		s.Push(b, repo, tag, t0, "linux/amd64")
		refs = append(refs, s.Ref(repo, tag))
	}
	s.SetLatency(benchLatency)
	return s, refs
}

// writeMonorepo writes benchFiles unpinned Dockerfiles into a new directory.
func writeMonorepo(b *testing.B, refs []string) string {
	dir := b.TempDir()
	for i := range benchFiles {
		write(b, dir, fmt.Sprintf("svc%03d/Dockerfile", i), fmt.Sprintf("FROM %s AS build\nRUN make\nFROM build\n", refs[i%len(refs)]))
	}
	return dir
}

func reportRequests(b *testing.B, s *registrytest.Server, elapsed time.Duration) {
	c := s.Counts()
	n := float64(b.N)
	b.ReportMetric(float64(c.Total)/n, "req/op")
	b.ReportMetric(float64(c.Manifest)/n, "digest-req/op")
	b.ReportMetric(float64(c.Token)/n, "token-req/op")
	b.ReportMetric(float64(elapsed)/float64(benchLatency)/n, "RTT/op")
}

func benchPin(b *testing.B, warm bool) {
	s, refs := benchRegistry(b)
	cacheDir := b.TempDir()
	pinOnce := func(dir, cacheDir string) {
		c := registry.New(registry.Options{Cache: cache.New(cacheDir, 0), Transport: registrytest.LoopbackTransport()})
		files, err := Collect([]string{dir}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		p, err := Build(context.Background(), files, &RegistryResolver{Registry: c, History: &history.Client{Registry: c}}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Write(); err != nil || len(p.Changes()) != benchFiles {
			b.Fatalf("%d changes, %v", len(p.Changes()), err)
		}
	}
	if warm {
		pinOnce(writeMonorepo(b, refs), cacheDir)
	}
	s.ResetCounts()
	var elapsed time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		dir := writeMonorepo(b, refs)
		c := cacheDir
		if !warm {
			c = filepath.Join(cacheDir, fmt.Sprint(i))
		}
		b.StartTimer()
		start := time.Now()
		pinOnce(dir, c)
		elapsed += time.Since(start)
	}
	b.StopTimer()
	reportRequests(b, s, elapsed)
}

// BenchmarkPinCold pins the monorepo with empty caches.
func BenchmarkPinCold(b *testing.B) { benchPin(b, false) }

// BenchmarkPinWarm pins it again with registry tokens cached on disk.
func BenchmarkPinWarm(b *testing.B) { benchPin(b, true) }

// BenchmarkPeerCraneDigestLoop is what users script today: `crane digest`
// once per reference (200 processes), without even editing the files.
func BenchmarkPeerCraneDigestLoop(b *testing.B) {
	crane := peer(b, "crane")
	s, refs := benchRegistry(b)
	env := append(os.Environ(), "DOCKER_CONFIG="+b.TempDir())
	s.ResetCounts()
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		for i := range benchFiles {
			cmd := exec.Command(crane, "digest", refs[i%len(refs)])
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("crane: %v: %s", err, out)
			}
		}
		elapsed += time.Since(start)
	}
	b.StopTimer()
	reportRequests(b, s, elapsed)
}

// BenchmarkPeerFrizbee runs `frizbee image DIR` over the same monorepo. It
// skips ":latest" (the only public Chainguard tag), so it also runs on the
// same workload tagged "v1" to measure what it does when it does pin.
func BenchmarkPeerFrizbee(b *testing.B) {
	b.Run("latest", func(b *testing.B) { benchFrizbee(b, "latest") })
	b.Run("v1", func(b *testing.B) { benchFrizbee(b, "v1") })
}

func benchFrizbee(b *testing.B, tag string) {
	frizbee := peer(b, "frizbee")
	s, refs := benchRegistryTag(b, tag)
	env := append(os.Environ(), "DOCKER_CONFIG="+b.TempDir())
	s.ResetCounts()
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := writeMonorepo(b, refs)
		b.StartTimer()
		start := time.Now()
		cmd := exec.Command(frizbee, "image", dir)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		elapsed += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("frizbee: %v: %s", err, out)
		}
		// frizbee exits 0 even when it pins nothing: count what it did.
		pinned := 0
		_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				if data, _ := os.ReadFile(p); strings.Contains(string(data), "@sha256:") {
					pinned++
				}
			}
			return nil
		})
		if os.Getenv("FRIZBEE_DEBUG") != "" {
			data, _ := os.ReadFile(filepath.Join(dir, "svc000", "Dockerfile"))
			b.Logf("frizbee output %s; svc000: %s", out, data)
		}
		b.ReportMetric(float64(pinned), "files-pinned")
		b.StartTimer()
	}
	b.StopTimer()
	reportRequests(b, s, elapsed)
}

func peer(b *testing.B, tool string) string {
	p, err := exec.LookPath(tool)
	if err != nil {
		if gp, e := exec.LookPath(filepath.Join(os.Getenv("HOME"), "go", "bin", tool)); e == nil {
			return gp
		}
		b.Skipf("%s not installed (scripts/bench.sh installs it)", tool)
	}
	return p
}

// The large-repository workload of the every-kind issue: 10,000 files that
// name the 20 images, checked (--check: resolve, plan, write nothing) with
// a warm token cache. Dockerfiles only, and the same number of files of
// every kind (plus YAML files that name no images, which a walk must read
// and pass over).
const scanFiles = 10000

func writeLargeRepo(b *testing.B, refs []string, mixed bool) string {
	dir := b.TempDir()
	kinds := []func(i int, r string) (string, string){
		func(i int, r string) (string, string) {
			return fmt.Sprintf("svc%05d/Dockerfile", i), "FROM " + r + " AS build\nRUN make\nFROM build\n"
		},
	}
	if mixed {
		kinds = append(kinds,
			func(i int, r string) (string, string) {
				return fmt.Sprintf("svc%05d/compose.yaml", i), "services:\n  web:\n    image: " + r + "\n  app:\n    build: .\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("k8s%05d/deploy.yaml", i), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: x\n        image: " + r + "\n        ports: [{containerPort: 80}]\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("k8s%05d/kustomization.yaml", i), "resources: [deploy.yaml]\nimages:\n- name: x\n  newName: " + strings.Split(r, ":latest")[0] + "\n  newTag: latest\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("ci%05d/.github/workflows/ci.yml", i), "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    container: " + r + "\n    steps:\n    - run: make\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("ci%05d/.gitlab-ci.yml", i), "image: " + r + "\ntest:\n  script: [make]\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("dev%05d/.devcontainer/devcontainer.json", i), "{\n  // dev\n  \"image\": \"" + r + "\",\n}\n"
			},
			func(i int, _ string) (string, string) {
				return fmt.Sprintf("cfg%05d/settings.yaml", i), "log:\n  level: info\nfeatures: [a, b, c]\n"
			},
			// The second round's kinds.
			func(i int, r string) (string, string) {
				return fmt.Sprintf("bb%05d/bitbucket-pipelines.yml", i), "image: " + r + "\npipelines:\n  default:\n  - step: {script: [make]}\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("dr%05d/.drone.yml", i), "kind: pipeline\nsteps:\n- name: t\n  image: " + r + "\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("gcb%05d/cloudbuild.yaml", i), "steps:\n- name: " + r + "\n  args: [build]\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("q%05d/app.container", i), "[Container]\nImage=" + r + "\nPublishPort=80:80\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("bk%05d/docker-bake.hcl", i), "variable \"BASE\" {\n  default = \"" + r + "\"\n}\ntarget \"a\" {\n  tags = [\"acme/a:1\"]\n}\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("tf%05d/main.tf", i), "resource \"docker_container\" \"a\" {\n  image = \"" + r + "\"\n  name  = \"a\"\n}\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("nm%05d/app.nomad", i), "job \"a\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      config { image = \"" + r + "\" }\n    }\n  }\n}\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("an%05d/tasks/main.yml", i), "- community.docker.docker_container:\n    name: a\n    image: " + r + "\n"
			},
			func(i int, r string) (string, string) {
				return fmt.Sprintf("mk%05d/Makefile", i), "IMAGE := " + r + " # cgpin: image\nall:\n\tdocker run $(IMAGE)\n"
			},
			func(i int, _ string) (string, string) {
				return fmt.Sprintf("go%05d/main.go", i), "package main\n\nfunc main() {}\n" // read for markers, none
			},
		)
	}
	for i := range scanFiles {
		name, content := kinds[i%len(kinds)](i, refs[i%len(refs)])
		write(b, dir, name, content)
	}
	return dir
}

func benchCheck(b *testing.B, mixed bool) {
	s, refs := benchRegistry(b)
	dir := writeLargeRepo(b, refs, mixed)
	c := registry.New(registry.Options{Cache: cache.New(b.TempDir(), 0), Transport: registrytest.LoopbackTransport()})
	r := &RegistryResolver{Registry: c, History: &history.Client{Registry: c}}
	check := func() int {
		files, err := Collect([]string{dir}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		p, err := Build(context.Background(), files, r, Options{})
		if err != nil {
			b.Fatal(err)
		}
		return len(p.Changes())
	}
	check() // warm: tokens cached
	s.ResetCounts()
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if n := check(); n == 0 {
			b.Fatal("nothing to pin")
		}
		elapsed += time.Since(start)
	}
	b.StopTimer()
	reportRequests(b, s, elapsed)
	b.ReportMetric(float64(scanFiles), "files")
}

// BenchmarkCheckDockerfiles checks 10,000 Dockerfiles.
func BenchmarkCheckDockerfiles(b *testing.B) { benchCheck(b, false) }

// BenchmarkCheckMixedKinds checks 10,000 files of every kind.
func BenchmarkCheckMixedKinds(b *testing.B) { benchCheck(b, true) }
