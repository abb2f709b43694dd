package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/kinds"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// TestPinNamedFileOfNoKind: "docker cgpin deploy/pod.manifest" (a Pod in
// YAML) read the file as a Dockerfile, found no FROM, said "0 of 1 file"
// and exited 0. A named file is read as its content says (Kubernetes, a
// Dockerfile); a text file of no kind is an error listing the kinds, which
// --skip-unknown (the pre-commit hooks) passes over.
func TestPinNamedFileOfNoKind(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/nginx", "latest", t0)
	ref := s.Ref("chainguard/nginx", "latest")
	work := t.TempDir()
	pod := "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: web\n    image: " + ref + "\n"
	manifest := writeFile(t, filepath.Join(work, "deploy", "pod.manifest"), pod, 0o644)
	notes := writeFile(t, filepath.Join(work, "notes.txt"), "Deploy with image: "+ref+"\n", 0o644)

	d := newDockerEnv(t, "")
	r := d.docker("cgpin", "--check", manifest).fails(t, "Would pin 1 reference in 1 of 1 file")
	if !strings.Contains(r.stdout, manifest+":6  "+ref) {
		t.Errorf("--check stdout:\n%s", r.stdout)
	}
	d.docker("cgpin", manifest).ok(t)
	fileIs(t, manifest, strings.Replace(pod, ref, ref+"@"+img.Digest.String(), 1))

	var names []string
	for _, k := range kinds.Names() {
		names = append(names, string(k))
	}
	kinds := "not a kind of file cgpin knows (" + strings.Join(names, ", ") + ")"
	d.docker("cgpin", notes).fails(t, notes+": "+kinds)
	d.docker("cgpin", "--check", "--skip-unknown", notes, manifest).ok(t)
	fileIs(t, notes, "Deploy with image: "+ref+"\n")
}
