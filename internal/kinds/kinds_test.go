package kinds

import (
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

func TestOf(t *testing.T) {
	for p, want := range map[string]ref.FileKind{
		"compose.yaml": ref.Compose, "a/docker-compose.prod.yml": ref.Compose, "compose.override.yaml": ref.Compose,
		"k/kustomization.yaml": ref.Kustomize, "chart/values.yaml": ref.Helm, "chart/values-prod.yaml": ref.Helm,
		".github/workflows/ci.yml": ref.GitHubActions, "x/action.yaml": ref.GitHubActions, ".gitlab-ci.yml": ref.GitLabCI,
		"ci/build.gitlab-ci.yml": ref.GitLabCI, ".circleci/config.yml": ref.CircleCI, ".devcontainer.json": ref.DevContainer,
		".devcontainer/devcontainer.json": ref.DevContainer, ".devcontainer/go/devcontainer.json": ref.DevContainer,
		"Dockerfile": ref.Dockerfile, "a/build.Dockerfile": ref.Dockerfile, "Dockerfile.md": "", "dockerfile.go": "annotated", "Makefile": "annotated", "app.container": "quadlet", ".env": "env",
		"chart/templates/values.yaml": ref.Kubernetes, "deploy.yaml": ref.Kubernetes, "workflows/ci.yml": ref.Kubernetes,
		"devcontainer.json": ref.Kubernetes, "README.md": "",
		"bitbucket-pipelines.yml": "bitbucket", "azure-pipelines.yml": "azure-pipelines", "azure-pipelines-ci.yaml": "azure-pipelines",
		".azure-pipelines/templates/build.yml": "azure-pipelines", ".drone.yml": "drone", ".woodpecker.yml": "woodpecker",
		".woodpecker/test.yaml": "woodpecker", ".buildkite/pipeline.deploy.yml": "buildkite", "cloudbuild.yaml": "cloudbuild",
		"ci/cloudbuild-release.json": "cloudbuild", ".ko.yaml": "ko", "docker-bake.hcl": "docker-bake", "infra/main.tf": "terraform", "jobs/web.nomad.hcl": "nomad", "roles/x/tasks/main.yml": "ansible", ".buildkite/hooks.yml": ref.Kubernetes,
	} {
		k, ok := Of(p, nil)
		var got ref.FileKind
		if ok {
			got = k.Name()
		}
		if got != want || ok != (want != "") {
			t.Errorf("Of(%q) = %q, %v; want %q", p, got, ok, want)
		}
	}
	if k, _ := Of("chart/values.yaml", func(string) bool { return false }); k.Name() != ref.Kubernetes {
		t.Errorf("values.yaml with no Chart.yaml beside it is %s, want a Kubernetes candidate", k.Name())
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		glob, path string
		want       bool
	}{
		{"*.yml", "a/b/c.yml", true},
		{"*.yml", "a/b/c.yaml", false},
		{".azure-pipelines/**/*.yml", ".azure-pipelines/x.yml", true},
		{".azure-pipelines/**/*.yml", "r/.azure-pipelines/a/b/x.YML", true},
		{".azure-pipelines/**/*.yml", "x.yml", false},
		{"ci/*.yml", "ci/a.yml", true},
		{"ci/*.yml", "ci/a/b.yml", false},
		{"deploy/*-values.yaml", "deploy/prod-values.yaml", true},
	} {
		if got := Match(c.glob, c.path); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.glob, c.path, got)
		}
	}
}

// Every kind has a name, finder and glob, and names are distinct.
func TestTable(t *testing.T) {
	seen := map[ref.FileKind]bool{}
	for _, k := range Table {
		if k.Name() == "" || len(k.Globs) == 0 || k.Pinned == "" || seen[k.Name()] {
			t.Errorf("row %q: a name, globs and what is pinned, once each", k.Name())
		}
		seen[k.Name()] = true
	}
}

// A .env file is of kind env only beside a Compose file; else it may hold
// markers.
func TestEnvBesideCompose(t *testing.T) {
	if k, _ := Of("x/.env", func(n string) bool { return n == "docker-compose.yml" }); k.Name() != "env" {
		t.Errorf(".env beside docker-compose.yml is %s", k.Name())
	}
	if k, _ := Of("x/.env", func(string) bool { return false }); k.Name() != "annotated" {
		t.Errorf(".env alone is %s", k.Name())
	}
}
