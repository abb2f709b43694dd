package kinds

import (
	"fmt"
	"os"
	"regexp"
	"strings"
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

// The README's table of kinds is this table: a row per kind, as
// TableRow writes it (KINDS_README=1 prints them).
func TestREADMETable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Table {
		if os.Getenv("KINDS_README") != "" {
			fmt.Println(k.TableRow())
		}
		if !strings.Contains(string(readme), "\n"+k.TableRow()+"\n") {
			t.Errorf("README.md has no row\n%s", k.TableRow())
		}
	}
}

// The pre-commit hooks' files: pattern takes a file of every kind, and
// the Action's description names them all.
func TestPreCommitPattern(t *testing.T) {
	hooks, err := os.ReadFile("../../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, pattern, _ := strings.Cut(string(hooks), "files: &kinds ")
	pattern, _, _ = strings.Cut(pattern, "\n- id:")
	pattern = strings.TrimPrefix(strings.TrimSpace(pattern), "(?x)")
	var b strings.Builder
	for _, line := range strings.Split(pattern, "\n") { // (?x): spaces and newlines are not part of it
		b.WriteString(strings.Join(strings.Fields(line), ""))
	}
	// Go has no lookahead: the Dockerfile companions' exclusion is Python's.
	noLookahead := regexp.MustCompile(`\(\?!\([^)]*\)\$\)`).ReplaceAllString(b.String(), "")
	re, err := regexp.Compile(noLookahead)
	if err != nil {
		t.Fatalf("pattern %q: %v", b.String(), err)
	}
	for _, k := range Table {
		for _, g := range k.Globs {
			p := "a/" + strings.NewReplacer("**/", "", "*", "x").Replace(g)
			if !re.MatchString(p) {
				t.Errorf("the hooks' files: pattern does not take %s (%s, glob %s)", p, k.Name(), g)
			}
		}
	}
	for _, p := range []string{"a/README.md", "a/x.png"} {
		if re.MatchString(p) {
			t.Errorf("the hooks' files: pattern takes %s", p)
		}
	}
}
