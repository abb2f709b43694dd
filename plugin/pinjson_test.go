package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// TestPinJSONListsLeftAlone: "docker cgpin --format json" lists, after the
// changes, every reference and file it left alone (templated values,
// variables, an image Compose builds; a symlink out of the paths given, a
// file with other hard links, a file too big), each an object with
// Skipped, the reason, and its file, line and text. They used to be on
// stderr only.
func TestPinJSONListsLeftAlone(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/go", "latest", t0)
	ref := s.Ref("chainguard/go", "latest")
	repo, other := t.TempDir(), t.TempDir()
	df := writeFile(t, filepath.Join(repo, "Dockerfile"), "ARG BASE\nFROM "+ref+"\nFROM ${BASE}\n", 0o644)
	compose := writeFile(t, filepath.Join(repo, "compose.yaml"), "services:\n  app:\n    build: .\n    image: acme/app:dev\n", 0o644)
	deploy := writeFile(t, filepath.Join(repo, "deploy", "app.yaml"), "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: \"{{ .Values.image }}\"\n", 0o644)
	theirs := writeFile(t, filepath.Join(other, "Dockerfile"), "FROM "+ref+"\n", 0o644)
	link := filepath.Join(repo, "link.Dockerfile")
	if err := os.Symlink(theirs, link); err != nil {
		t.Fatal(err)
	}
	linked := writeFile(t, filepath.Join(repo, "hard", "Dockerfile"), "FROM "+ref+"\n", 0o644)
	if err := os.Link(linked, filepath.Join(other, "hard-link")); err != nil {
		t.Fatal(err)
	}
	big := writeFile(t, filepath.Join(repo, "big", "compose.yaml"), "services: {}\n"+strings.Repeat("#\n", 1<<20+1), 0o644)

	d := newDockerEnv(t, "")
	r := d.docker("cgpin", "--check", "--format", "json", repo).fails(t, "Would pin 1 reference in 1 of 3 files (1 distinct image resolved, 6 left alone)")
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		got = append(got, m)
	}
	want := []map[string]any{
		{"File": df, "Line": 2.0, "Old": ref, "Digest": img.Digest.String()},
		{"File": df, "Line": 3.0, "Old": "${BASE}", "Reason": "ARG BASE has no default value", "Skipped": true},
		{"File": linked, "Reason": "has 2 hard links; rewriting it would break them", "Skipped": true},
		{"File": link, "Reason": "a symlink to " + theirs + ", outside the paths given", "Skipped": true},
		{"File": big, "Reason": "2MiB, larger than the 2MiB cgpin reads", "Skipped": true},
		{"File": compose, "Line": 4.0, "Old": "acme/app:dev", "Reason": "service app builds this image (build:)", "Skipped": true},
		{"File": deploy, "Line": 5.0, "Old": "{{ .Values.image }}", "Reason": "template expression", "Skipped": true},
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			match := true
			for k, v := range w {
				match = match && g[k] == v
			}
			found = found || match
		}
		if !found {
			t.Errorf("no JSON object with %v in:\n%s", w, r.stdout)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d objects, want %d:\n%s", len(got), len(want), r.stdout)
	}
}

// TestGitHubActionLeftAlone: the Action's json output holds what cgpin
// left alone, which changes nothing: once every reference is pinned,
// "changed" is false, and the summary and markdown list what was left
// alone, with the reason, after the changes.
func TestGitHubActionLeftAlone(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")
	d := newDockerEnv(t, "")
	work := t.TempDir()
	compose := writeFile(t, filepath.Join(work, "compose.yaml"), "services:\n  db:\n    image: "+ref+"\n  app:\n    build: .\n    image: acme/app:dev\n", 0o644)
	leftAlone := "#### Left alone (docker cgpin)\n\n| where | reference | why |\n|---|---|---|\n| `" + compose + ":6` | `acme/app:dev` | `service app builds this image (build:)` |"

	o, summary, err := runAction(t, d.env, "INPUT_PATHS="+work, "INPUT_MODE=update")
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if o["changed"] != "true" || !strings.Contains(o["json"], `"Skipped":true`) || !strings.Contains(o["markdown"], "| `"+compose+":3` | `"+ref+"`") ||
		!strings.Contains(o["markdown"], "|\n\n"+leftAlone) || !strings.Contains(summary, leftAlone) {
		t.Errorf("update outputs %v\nsummary:\n%s", o, summary)
	}
	o, summary, err = runAction(t, d.env, "INPUT_PATHS="+work, "INPUT_MODE=check")
	if err != nil || o["changed"] != "false" || strings.Contains(o["markdown"], "Base image updates") || !strings.Contains(o["json"], `"Skipped":true`) ||
		!strings.Contains(summary, "every image reference is pinned and current\n\n"+leftAlone) {
		t.Errorf("check after update: %v %v\nsummary:\n%s", err, o, summary)
	}
}
