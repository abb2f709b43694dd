package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestBumpThroughDocker: docker cgpin --bump and unique tags through the
// docker CLI, against repositories tagged as Chainguard tags them (version
// streams with and without epochs, -dev variants, unique tags, a release
// candidate, a stopped stream, a signature tag, a tag whose image is gone,
// more than a thousand tags so the list pages), in every kind of file.
func TestBumpThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	now := time.Now().UTC().Truncate(time.Second)
	day := 24 * time.Hour
	py, goRepo, locked := s.Ref("chainguard/python", ""), s.Ref("chainguard/go", ""), s.Ref("chainguard/locked", "")
	push := func(repo string, at time.Time, tags ...string) string {
		img := s.Push(t, repo, tags[0], at, "linux/amd64")
		s.TagAs(t, repo, img.Digest, at, tags[1:]...)
		return img.Digest.String()
	}
	p39 := push("chainguard/python", now.Add(-60*day), "3.9", "3.9-dev", "sha256-"+strings.Repeat("a", 64)+".sig", "latest-dev")
	var filler []string
	for i := range 1100 {
		filler = append(filler, fmt.Sprintf("0.%d.%d", i/100, i%100))
	}
	s.TagAs(t, "chainguard/python", mustHash(t, p39), now.Add(-60*day), filler...)
	p312a := push("chainguard/python", now.Add(-3*day), "3.12-202601011200")
	p312 := push("chainguard/python", now.Add(-2*day), "3.12", "3.12-202601021200", "3.12-dev")
	p313 := push("chainguard/python", now.Add(-2*time.Hour), "3.13", "3.13-dev", "3.15")
	push("chainguard/python", now.Add(-time.Hour), "3.14-rc1")
	// 3.15 is listed, but its image is gone.
	s.Override(`^/v2/chainguard/python/manifests/3\.15$`, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
	})
	g1 := push("chainguard/go", now.Add(-3*day), "1.23.4-r2")
	g2 := push("chainguard/go", now.Add(-2*day), "1.23.4-r3", "1.23.5-r0")
	g3 := push("chainguard/go", now.Add(-2*day), "1.24.0-r0")
	l1 := push("chainguard/locked", now.Add(-2*day), "3.12", "3.13")
	s.Override(`^/v2/chainguard/locked/tags/list$`, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"listing tags is not allowed"}]}`)
	})
	old := "sha256:" + strings.Repeat("0", 64)

	for _, tc := range []struct {
		name   string
		files  map[string]string // path → content before
		args   []string
		want   map[string]string // path → content after (nil: unchanged)
		code   int
		stdout []string
		stderr []string
	}{{
		name:   "dockerfile minor passes over a gone image and prereleases",
		files:  map[string]string{"Dockerfile": "FROM " + py + ":3.12\nFROM " + py + ":3.9-dev AS dev\nFROM " + py + ":latest-dev\n"},
		args:   []string{"--bump", "minor"},
		want:   map[string]string{"Dockerfile": "FROM " + py + ":3.13@" + p313 + "\nFROM " + py + ":3.13-dev@" + p313 + " AS dev\nFROM " + py + ":latest-dev@" + p39 + "\n"},
		stderr: []string{"passed over 3.15: listed, but its image is gone", "2 tags moved"},
	}, {
		name: "an ARG default that holds the whole reference moves; GitHub Actions keeps docker://",
		files: map[string]string{"Dockerfile": "ARG BASE=" + py + ":3.12\nFROM ${BASE}\n",
			"action.yml": "runs:\n  using: docker\n  image: docker://" + goRepo + ":1.23.4-r2\n"},
		args: []string{"--bump", "minor"},
		want: map[string]string{"Dockerfile": "ARG BASE=" + py + ":3.13@" + p313 + "\nFROM ${BASE}\n",
			"action.yml": "runs:\n  using: docker\n  image: docker://" + goRepo + ":1.24.0-r0@" + g3 + "\n"},
	}, {
		name:  "an ARG default that holds the tag moves and takes the digest beside it, quotes kept",
		files: map[string]string{"Dockerfile": "ARG PY='3.12-dev' # the stream\nFROM " + py + ":${PY} AS dev\nFROM " + py + ":$PY\n"},
		args:  []string{"--bump", "minor"},
		want:  map[string]string{"Dockerfile": "ARG PY='3.13-dev@" + p313 + "' # the stream\nFROM " + py + ":${PY} AS dev\nFROM " + py + ":$PY\n"},
	}, {
		name:  "patch moves the epoch and the last part; quotes and comments kept",
		files: map[string]string{"compose.yaml": "services:\n  app:\n    image: \"" + goRepo + ":1.23.4-r2\"  # base\n"},
		args:  []string{"--bump", "patch"},
		want:  map[string]string{"compose.yaml": "services:\n  app:\n    image: \"" + goRepo + ":1.23.5-r0@" + g2 + "\"  # base\n"},
	}, {
		name:  "major moves a pinned Kubernetes image",
		files: map[string]string{"pod.yaml": "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: '" + goRepo + ":1.23.4-r2@" + g1 + "'}]\n"},
		args:  []string{"--bump", "major"},
		want:  map[string]string{"pod.yaml": "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: '" + goRepo + ":1.24.0-r0@" + g3 + "'}]\n"},
	}, {
		name: "helm: a reference string moves, and so does a split spec's tag: (quoted), with or without a digest key",
		files: map[string]string{"Chart.yaml": "name: c\n", "values.yaml": "a:\n  image: " + py + ":3.12\nb:\n  image:\n    registry: " + s.Host +
			"\n    repository: chainguard/python\n    tag: \"3.12\"\nc:\n  image:\n    repository: " + s.Host + "/chainguard/go\n    tag: 1.23.4-r2  # go\n    digest: \"\"\n"},
		args: []string{"--bump", "minor"},
		want: map[string]string{"values.yaml": "a:\n  image: " + py + ":3.13@" + p313 + "\nb:\n  image:\n    registry: " + s.Host +
			"\n    repository: chainguard/python\n    tag: \"3.13@" + p313 + "\"\nc:\n  image:\n    repository: " + s.Host + "/chainguard/go\n    tag: \"1.24.0-r0\"  # go\n    digest: \"" + g3 + "\"\n"},
	}, {
		name:  "kustomize moves newTag and writes digest; GitLab CI moves",
		files: map[string]string{"kustomization.yaml": "images:\n- name: py\n  newName: " + py + "\n  newTag: \"3.12\"\n- name: go\n  newName: " + goRepo + "\n  newTag: 1.23.4-r2\n  digest: " + g1 + "\n", ".gitlab-ci.yml": "image: " + py + ":3.12\n"},
		args:  []string{"--bump", "minor"},
		want: map[string]string{"kustomization.yaml": "images:\n- name: py\n  newName: " + py + "\n  newTag: \"3.13\"\n  digest: " + p313 + "\n- name: go\n  newName: " + goRepo + "\n  newTag: \"1.24.0-r0\"\n  digest: " + g3 + "\n",
			".gitlab-ci.yml": "image: " + py + ":3.13@" + p313 + "\n"},
	}, {
		name:   "check exits 1 when a tag would move, and writes nothing",
		files:  map[string]string{"Dockerfile": "FROM " + py + ":3.12@" + p312 + "\n"},
		args:   []string{"--check", "--bump", "minor"},
		code:   1,
		stderr: []string{"1 reference is not pinned"},
	}, {
		name:  "without --bump a pinned version tag stays",
		files: map[string]string{"Dockerfile": "FROM " + py + ":3.12@" + p312 + "\n"},
		args:  []string{"--check"},
	}, {
		name:   "dry-run JSON has the old and new tags",
		files:  map[string]string{"Dockerfile": "FROM " + py + ":3.12@" + p312 + "\n"},
		args:   []string{"--dry-run", "--format", "json", "--bump", "minor"},
		stdout: []string{`"NewTag":"3.13"`, `"OldTag":"3.12"`, `"Digest":"` + p313 + `"`},
	}, {
		name:   "markdown shows the version move",
		files:  map[string]string{"Dockerfile": "FROM " + py + ":3.12@" + p312 + "\n"},
		args:   []string{"--dry-run", "--format", "markdown", "--bump", "minor"},
		stdout: []string{"`python 3.12 → 3.13`"},
	}, {
		name:  "a unique tag follows its stream under --update",
		files: map[string]string{"Dockerfile": "FROM " + py + ":3.12-202601011200@" + p312a + "\n"},
		args:  []string{"--update"},
		want:  map[string]string{"Dockerfile": "FROM " + py + ":3.12-202601021200@" + p312 + "\n"},
	}, {
		name:  "a unique tag stays without --update",
		files: map[string]string{"Dockerfile": "FROM " + py + ":3.12-202601011200@" + p312a + "\n"},
		args:  []string{"--check"},
	}, {
		name:   "a newer tag younger than the cooldown is passed over",
		files:  map[string]string{"Dockerfile": "FROM " + py + ":3.12\n"},
		args:   []string{"--bump", "minor", "--cooldown", "1d"},
		want:   map[string]string{"Dockerfile": "FROM " + py + ":3.12@" + p312 + "\n"},
		stderr: []string{"passed over 3.13: ", "had no build at or before"},
	}, {
		name:   "a repository that forbids listing tags keeps its tag; --update still refreshes the digest",
		files:  map[string]string{"Dockerfile": "FROM " + locked + ":3.12@" + old + "\n"},
		args:   []string{"--bump", "minor", "--update"},
		want:   map[string]string{"Dockerfile": "FROM " + locked + ":3.12@" + l1 + "\n"},
		stderr: []string{"cannot list the tags of " + locked + ", so the tag stays", "access denied"},
	}, {
		name: "per-image levels in .cgpin.yaml; the last matching glob wins",
		files: map[string]string{".cgpin.yaml": "bump: [patch, \"*/chainguard/python:*=minor\"]\n",
			"Dockerfile": "FROM " + py + ":3.12\nFROM " + goRepo + ":1.23.4-r2\n"},
		want: map[string]string{"Dockerfile": "FROM " + py + ":3.13@" + p313 + "\nFROM " + goRepo + ":1.23.5-r0@" + g2 + "\n"},
	}, {
		name:  "--bump on the command line wins over the policy file",
		files: map[string]string{".cgpin.yaml": "bump: major\n", "Dockerfile": "FROM " + goRepo + ":1.23.4-r2\n"},
		args:  []string{"--bump", "patch"},
		want:  map[string]string{"Dockerfile": "FROM " + goRepo + ":1.23.5-r0@" + g2 + "\n"},
	}, {
		name:   "an unknown level in the policy file names the file and line",
		files:  map[string]string{".cgpin.yaml": "update: true\nbump: micro\n", "Dockerfile": "FROM " + py + ":3.12\n"},
		code:   125,
		stderr: []string{".cgpin.yaml:2: bump: \"micro\": unknown bump level"},
	}, {
		name:   "--outdated marks a stopped stream with the newer one that moves, and --exit-code counts it",
		files:  map[string]string{"Dockerfile": "FROM " + py + ":3.9@" + p39 + "\nFROM " + py + ":3.12@" + p312 + "\n"},
		args:   []string{"--outdated", "--exit-code"},
		code:   1,
		stdout: []string{"3.9: stopped " + now.Add(-60*day).Format(time.DateOnly) + " — newer: 3.13 (moving)"},
		stderr: []string{"1 pin is behind their tags"},
	}, {
		name:   "--outdated JSON has the stopped stream",
		files:  map[string]string{"Dockerfile": "FROM " + py + ":3.9-dev@" + p39 + "\n"},
		args:   []string{"--outdated", "--format", "json"},
		stdout: []string{`"NewerStream":"3.13-dev"`, `"Stopped":true`},
	}, {
		name:   "an unknown level on the command line",
		files:  map[string]string{"Dockerfile": "FROM " + py + ":3.12\n"},
		args:   []string{"--bump", "micro"},
		code:   125,
		stderr: []string{`--bump: unknown bump level "micro"`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d := newDockerEnv(t, "")
			r := d.docker(append(append([]string{"cgpin"}, tc.args...), dir)...)
			if tc.code == 0 {
				r.ok(t)
			} else if r.code == 0 || (tc.code == 1 && r.code != 1) {
				t.Fatalf("exit 0, want failure\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			for name, content := range tc.files {
				want, ok := tc.want[name]
				if !ok {
					want = content
				}
				if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
	// The streams of the repository, through docker: one row per stream
	// tag, none for the 1,100 filler patch tags' families below 3, the
	// signature or word tags.
	t.Run("cghistory tags --streams", func(t *testing.T) {
		r := newDockerEnv(t, "").docker("cghistory", "tags", "--streams", "--format", "{{.Stream}} {{.Status}}", py).ok(t)
		for _, w := range []string{"3.9 stopped — newer: 3.13\n", "3.12 moving\n", "3.13 moving\n", "3.12-dev moving\n", "3.9-dev stopped — newer: 3.13-dev\n"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("stdout lacks %q:\n%.2000s", w, r.stdout)
			}
		}
		for _, no := range []string{"sha256-", "latest", "3.12-2026"} {
			if strings.Contains(r.stdout, no) {
				t.Errorf("stdout has %q", no)
			}
		}
	})
	if c := s.Counts(); c.Tags < 2 {
		t.Errorf("the python tag list was read in %d requests: want pages", c.Tags)
	}
}

func mustHash(t *testing.T, s string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
