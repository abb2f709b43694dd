package pin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/kinds"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gotest.tools/v3/assert"
)

// mixedRepo writes a repository naming images in every kind of file cgpin
// reads, all through registry host; it returns file → content.
func mixedRepo(t testing.TB, dir, host string) map[string]string {
	goImg, nginx := host+"/chainguard/go:latest", host+"/chainguard/nginx:latest"
	files := map[string]string{
		"Dockerfile":                      "# syntax=" + host + "/docker/dockerfile:1\nFROM " + goImg + " AS build\nFROM build\n",
		"compose.yaml":                    "services:\n  web:\n    image: \"" + nginx + "\" # front\n  app:\n    build: .\n    image: acme/app:dev\n",
		"deploy/app.yaml":                 "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      initContainers: [{name: init, image: " + goImg + "}]\n      containers:\n      - name: web\n        image: '" + nginx + "'\n",
		"deploy/kustomization.yaml":       "resources: [app.yaml]\nimages:\n- name: nginx\n  newName: " + host + "/chainguard/nginx\n  newTag: latest\n",
		"chart/Chart.yaml":                "apiVersion: v2\nname: x\nversion: 1.0.0\n",
		"chart/values.yaml":               "image:\n  registry: " + host + "\n  repository: chainguard/go\n  tag: latest\n  digest: \"\"\n",
		"chart/templates/deployment.yaml": "image: {{ .Values.image.repository }}\n",
		".github/workflows/ci.yml":        "jobs:\n  a:\n    container: " + goImg + "\n    steps:\n    - uses: docker://" + nginx + "\n",
		".gitlab-ci.yml":                  "image: " + goImg + "\nservices:\n  - name: " + nginx + "\n",
		".circleci/config.yml":            "jobs:\n  b:\n    docker:\n      - image: " + goImg + "\n",
		".devcontainer/devcontainer.json": "{\n\t// Go\n\t\"image\": \"" + goImg + "\",\n}\n",
		"notes.yaml":                      "image: " + goImg + "\n", // names no kind: never edited
		"bitbucket-pipelines.yml":         "image: " + goImg + "\npipelines:\n  default:\n    - step:\n        script: [make]\n",
		"azure-pipelines.yml":             "jobs:\n- job: a\n  container: '" + goImg + "'\n",
		".drone.yml":                      "kind: pipeline\nsteps:\n- name: a\n  image: " + goImg + "\n---\nkind: secret\n",
		".woodpecker/ci.yml":              "steps:\n  a:\n    image: " + nginx + "\n",
		".buildkite/pipeline.yml":         "steps:\n- plugins:\n  - docker#v5.12.0:\n      image: " + goImg + "\n",
		"cloudbuild.yaml":                 "steps:\n- name: " + goImg + "\n",
		".ko.yaml":                        "defaultBaseImage: " + nginx + "\n",
		"web.container":                   "[Container]\nImage=" + nginx + "\n",
		"Makefile":                        "GO := " + goImg + " # cgpin: image\nall:\n\tdocker run $(GO)\n",
		"main.go":                         "package main // names no image\n",
		"env/compose.yaml":                "services:\n  web:\n    image: ${WEB}\n",
		"roles/web/tasks/main.yml":        "- community.docker.docker_container:\n    name: web\n    image: " + nginx + "\n",
		"docker-bake.hcl":                 "variable \"GO\" {\n  default = \"" + goImg + "\"\n}\ntarget \"a\" {\n  tags = [\"acme/a:1\"]\n}\n",
		"infra/main.tf":                   "resource \"docker_container\" \"web\" {\n  image = \"" + nginx + "\"\n}\n",
		"jobs/web.nomad":                  "job \"w\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      config { image = \"" + nginx + "\" }\n    }\n  }\n}\n",
		"env/.env":                        "WEB=" + nginx + "\nPORT=8080\n",
	}
	for name, content := range files {
		write(t, dir, name, content)
	}
	return files
}

func TestEveryKind(t *testing.T) {
	s := registrytest.New(t)
	now := time.Now().UTC().Truncate(time.Second)
	var old, cur []v1.Hash
	for _, repo := range []string{"chainguard/go", "chainguard/nginx", "docker/dockerfile"} {
		tag := "latest"
		if repo == "docker/dockerfile" {
			tag = "1"
		}
		old = append(old, s.Push(t, repo, tag, now.Add(-5*24*time.Hour), "linux/amd64").Digest)
		cur = append(cur, s.Push(t, repo, tag, now.Add(-time.Hour), "linux/amd64").Digest)
	}
	dir := t.TempDir()
	files := mixedRepo(t, dir, s.Host)
	sources, err := Collect([]string{dir}, nil, nil)
	assert.NilError(t, err)
	collected := map[ref.FileKind]int{}
	for _, src := range sources {
		collected[src.Kind]++
	}
	// Every kind is found by path; notes.yaml and the chart's template are
	// candidates for Kubernetes only (and are not).
	for _, k := range kinds.Names() {
		assert.Assert(t, collected[k] > 0, "no %s file collected: %+v", k, sources)
	}

	// Pin: every reference gets the tag's current digest.
	p, err := Build(context.Background(), sources, resolver(t), Options{})
	assert.NilError(t, err)
	assert.NilError(t, p.Write())
	assert.Equal(t, len(p.Changes()), 27, "%+v", p.Changes())
	assert.Equal(t, p.Resolved, 3)
	pinned := func(content string, ds []v1.Hash) string {
		content = strings.ReplaceAll(content, s.Host+"/chainguard/go:latest", s.Host+"/chainguard/go:latest@"+ds[0].String())
		content = strings.ReplaceAll(content, s.Host+"/chainguard/nginx:latest", s.Host+"/chainguard/nginx:latest@"+ds[1].String())
		return strings.ReplaceAll(content, s.Host+"/docker/dockerfile:1", s.Host+"/docker/dockerfile:1@"+ds[2].String())
	}
	want := map[string]string{}
	for name, content := range files {
		want[name] = content
		switch name {
		case "notes.yaml", "chart/templates/deployment.yaml", "chart/Chart.yaml", "main.go", "env/compose.yaml":
		case "deploy/kustomization.yaml":
			want[name] = content + "  digest: " + cur[1].String() + "\n"
		case "chart/values.yaml":
			want[name] = strings.Replace(content, `digest: ""`, `digest: "`+cur[0].String()+`"`, 1)
		default:
			want[name] = pinned(content, cur)
		}
	}
	for name := range files {
		assert.Equal(t, read(t, filepath.Join(dir, name)), want[name], name)
	}
	for _, n := range p.Notes {
		assert.Assert(t, strings.Contains(n.Reason, "builds this image") || n.Ref == "build" || n.Ref == "${WEB}", "note %+v", n)
	}

	// Idempotent; --check then passes.
	p, err = Build(context.Background(), sources, resolver(t), Options{})
	assert.NilError(t, err)
	assert.Equal(t, len(p.Changes()), 0)

	// --at rolls every kind back to the old builds.
	r := resolver(t)
	r.At = now.Add(-3 * 24 * time.Hour)
	p, err = Build(context.Background(), sources, r, Options{Update: true})
	assert.NilError(t, err)
	assert.NilError(t, p.Write())
	assert.Equal(t, len(p.Changes()), 27)
	for name := range files {
		w := strings.NewReplacer(cur[0].String(), old[0].String(), cur[1].String(), old[1].String(), cur[2].String(), old[2].String()).Replace(want[name])
		assert.Equal(t, read(t, filepath.Join(dir, name)), w, name)
	}
	// --update moves them all forward again, kind by kind (--kind).
	compose, err := Collect([]string{dir}, nil, []ref.FileKind{ref.Compose, ref.Kustomize})
	assert.NilError(t, err)
	p, err = Build(context.Background(), compose, resolver(t), Options{Update: true})
	assert.NilError(t, err)
	assert.Equal(t, len(p.Changes()), 2)
	for _, c := range p.Changes() {
		prev, ok := c.Previous()
		assert.Assert(t, ok && prev.DigestStr() == old[1].String() && c.Digest == cur[1], "%+v", c)
	}
}

// A named file of no kind is an error listing the kinds; with one --kind
// it is read as that kind.
func TestNamedFiles(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "stack.yml", "services:\n  a:\n    image: alpine:3\n")
	src, err := Collect([]string{p}, nil, nil)
	assert.NilError(t, err)
	_, err = Build(context.Background(), src, resolver(t), Options{})
	assert.ErrorContains(t, err, "not a kind of file cgpin knows (dockerfile, compose, kubernetes")
	src, err = Collect([]string{p}, nil, []ref.FileKind{ref.Compose})
	assert.NilError(t, err)
	assert.Equal(t, src[0].Kind, ref.Compose)
	bad := write(t, dir, "compose.yaml", "services:\n  a: [\n")
	src, err = Collect([]string{bad}, nil, nil)
	assert.NilError(t, err)
	_, err = Build(context.Background(), src, resolver(t), Options{})
	assert.ErrorContains(t, err, "compose.yaml:2: cannot parse compose file")
	if _, err := ParseKinds([]string{"compose,helm", "all"}); err != nil {
		t.Error(err)
	}
	_, err = ParseKinds([]string{"terragrunt"})
	assert.ErrorContains(t, err, `--kind "terragrunt": want one of dockerfile, compose`)
	_ = os.Remove(bad)
}

// --kind KIND=GLOB: files of unusual names are read as the kind said,
// overriding detection; a binary file a glob matches is skipped with a
// note; an unknown kind is an error listing the kinds.
func TestKindOverrides(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "deploy/prod-values.yaml", "image:\n  repository: cgr.dev/chainguard/nginx\n  tag: latest\n")
	write(t, dir, "ci/pipeline.gitlab.yml", "image: cgr.dev/chainguard/go:latest\n")
	write(t, dir, "ci/logo.yml", "\x00\x01binary")
	write(t, dir, "compose.yaml", "services:\n  a:\n    image: alpine:3\n")
	ov, err := ParseOverrides([]string{"helm=deploy/*-values.yaml", "gitlab-ci=ci/*.yml,compose"})
	assert.NilError(t, err)
	kinds, err := ParseKinds([]string{"helm=deploy/*-values.yaml", "gitlab-ci=ci/*.yml,compose"})
	assert.NilError(t, err)
	src, err := CollectKinds([]string{dir}, nil, kinds, ov)
	assert.NilError(t, err)
	refs, notes, err := Scan(context.Background(), src, Options{})
	assert.NilError(t, err)
	got := map[string]string{}
	for _, r := range refs {
		rel, _ := filepath.Rel(dir, r.File)
		got[filepath.ToSlash(rel)] = string(r.FileKind) + " " + r.Found.Text
	}
	assert.DeepEqual(t, got, map[string]string{
		"deploy/prod-values.yaml": "helm cgr.dev/chainguard/nginx:latest",
		"ci/pipeline.gitlab.yml":  "gitlab-ci cgr.dev/chainguard/go:latest",
		"compose.yaml":            "compose alpine:3",
	})
	assert.Equal(t, len(notes), 1)
	assert.Equal(t, notes[0].Reason, "binary file matched by ci/*.yml: skipped")
	// Without the overrides these files are of no kind.
	src, err = Collect([]string{dir}, nil, nil)
	assert.NilError(t, err)
	refs, _, err = Scan(context.Background(), src, Options{})
	assert.NilError(t, err)
	assert.Equal(t, len(refs), 1)
	_, err = ParseOverrides([]string{"helmet=x/*.yaml"})
	assert.ErrorContains(t, err, `--kind "helmet=x/*.yaml": kind "helmet": want one of dockerfile, compose`)
	_, err = ParseOverrides([]string{"helm=[x"})
	assert.ErrorContains(t, err, `"[x" is not a glob`)
}
