package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// TestPinSecondRoundKindsThroughDocker: one repository naming images in
// every kind of the second round (CI systems, build and infrastructure
// files, .env beside Compose, marked lines); cgpin --check lists each,
// --kind keeps one, cgpin pins each in place, notes say what is left alone,
// and invalid HCL is an error naming file and line with nothing written.
func TestPinSecondRoundKindsThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/go", "latest", t0)
	ref := s.Ref("chainguard/go", "latest")
	files := map[string]string{
		"bitbucket-pipelines.yml": "image: " + ref + "\n",
		"azure-pipelines.yml":     "jobs:\n- job: a\n  container: '" + ref + "'\n",
		".drone.yml":              "kind: pipeline\nsteps:\n- name: a\n  image: " + ref + "\n",
		".woodpecker/ci.yml":      "steps:\n  a:\n    image: " + ref + "\n",
		".buildkite/pipeline.yml": "steps:\n- plugins:\n  - docker#v5.12.0:\n      image: " + ref + "\n",
		"cloudbuild.yaml":         "steps:\n- name: " + ref + "\n",
		".ko.yaml":                "defaultBaseImage: " + ref + "\n",
		"deploy/web.container":    "[Container]\r\nImage=" + ref + "\r\n",
		"docker-bake.hcl":         "variable \"GO\" {\n  default = \"" + ref + "\"\n}\ntarget \"a\" {\n  contexts = { go = \"docker-image://" + ref + "\" }\n  tags = [\"acme/a:1\"]\n}\n",
		"infra/main.tf":           "resource \"docker_container\" \"a\" {\n  image = \"" + ref + "\" # app\n}\n",
		"jobs/a.nomad":            "job \"a\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      config { image = \"" + ref + "\" }\n    }\n  }\n}\n",
		"roles/a/tasks/main.yml":  "- community.docker.docker_container:\n    name: a\n    image: " + ref + "\n",
		"app/compose.yaml":        "services:\n  web:\n    image: ${WEB_IMAGE}\n",
		"app/.env":                "WEB_IMAGE=" + ref + "\nPORT=8080\n",
		"Makefile":                "GO := " + ref + " # cgpin: image\n# cgpin: image\nall:\n",
		"scripts/images.go":       "package scripts\n\nconst base = \"" + ref + "\" // not marked\n",
	}
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := newDockerEnv(t, "")
	r := d.docker("cgpin", "--check", dir).fails(t, "15 references are not pinned")
	for _, want := range []string{"bitbucket-pipelines.yml:1", "deploy/web.container:2", "docker-bake.hcl:2", "docker-bake.hcl:5", "app/.env:1", "Makefile:1", "roles/a/tasks/main.yml:3"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("--check does not list %s:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "images.go") {
		t.Errorf("an unmarked reference listed:\n%s", r.stdout)
	}
	d.docker("cgpin", "--check", "--kind", "terraform", dir).fails(t, "1 reference is not pinned")
	r = d.docker("cgpin", dir).ok(t)
	for _, note := range []string{"marked cgpin: image, but no image reference on the line", "set by $WEB_IMAGE"} {
		if !strings.Contains(r.stderr, note) {
			t.Errorf("no note %q:\n%s", note, r.stderr)
		}
	}
	for name, content := range files {
		want := content
		if name != "app/compose.yaml" && name != "scripts/images.go" {
			want = strings.ReplaceAll(content, ref, ref+"@"+img.Digest.String())
		}
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	d.docker("cgpin", "--check", dir).ok(t)

	// Invalid HCL: an error naming file and line; the valid file beside it
	// is not written either.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "main.tf"), []byte("resource \"a\" \"b\" {\n  image = \n}\n"), 0o644)
	good := "variable \"GO\" {\n  default = \"" + ref + "\"\n}\n"
	os.WriteFile(filepath.Join(bad, "docker-bake.hcl"), []byte(good), 0o644)
	d.docker("cgpin", bad).fails(t, "main.tf:2", "cannot parse terraform file")
	if got, _ := os.ReadFile(filepath.Join(bad, "docker-bake.hcl")); string(got) != good {
		t.Errorf("docker-bake.hcl written beside invalid HCL: %q", got)
	}
}
