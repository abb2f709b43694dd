package yamlref

import (
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// TestCIKinds: the CI systems and build tools of the second round, with
// their torture cases (quotes, comments, CRLF, BOM, variables, anchors,
// multi-document files).
func TestCIKinds(t *testing.T) {
	D := "@" + fixed.String()
	cases := []struct {
		name string
		kind ref.FileKind
		path string
		in   string
		pins []string // texts pinned, in order (the output is in[text → text+D])
		skip []string // texts left alone
	}{
		{"bitbucket global, steps, services, name:", "bitbucket", "bitbucket-pipelines.yml",
			"image: atlassian/default-image:4 # default\ndefinitions:\n  services:\n    db:\n      image: postgres:16\n    docker:\n      memory: 2048\n  steps:\n    - step: &build\n        name: Build\n        image:\n          name: 'cgr.dev/chainguard/go:latest'\n          username: $U\n        script: [\"echo image: x:1\"]\npipelines:\n  default:\n    - step: *build\n    - parallel:\n        - step:\n            image: \"node:22\"\n            script: [npm test]\n  branches:\n    main:\n      - step:\n          image: $REG/x:1\n",
			[]string{"atlassian/default-image:4", "postgres:16", "cgr.dev/chainguard/go:latest", "node:22"}, []string{"$REG/x:1"}},
		{"azure resources, job container, aliases and targets", "azure-pipelines", "azure-pipelines.yml",
			"resources:\n  containers:\n  - container: py\n    image: python:3.12\n  - container: tools\n    image: 'cgr.dev/chainguard/wolfi-base:latest'\njobs:\n- job: a\n  container: py\n  steps:\n  - script: echo\n    target: tools\n- job: b\n  container: ubuntu:24.04\n- job: c\n  container:\n    image: \"node:22\"\n    options: --user 0\n  services:\n    redis: redis\n- job: d\n  container: ${{ parameters.image }}\n",
			[]string{"python:3.12", "cgr.dev/chainguard/wolfi-base:latest", "ubuntu:24.04", "node:22"}, []string{"${{ parameters.image }}"}},
		{"drone multi-document, CRLF", "drone", ".drone.yml",
			"kind: pipeline\r\ntype: docker\r\nname: a\r\nsteps:\r\n- name: test\r\n  image: golang:1.23 # go\r\n  commands: [\"docker run alpine:3\"]\r\nservices:\r\n- name: db\r\n  image: 'postgres:16'\r\n---\r\nkind: pipeline\r\nname: b\r\nsteps:\r\n- name: x\r\n  image: plugins/docker\r\n---\r\nkind: secret\r\nname: s\r\n",
			[]string{"golang:1.23", "postgres:16", "plugins/docker"}, nil},
		{"woodpecker map and list steps, BOM", "woodpecker", ".woodpecker/build.yml",
			"\xEF\xBB\xBFsteps:\n  build:\n    image: golang:1.23\n  publish:\n    image: woodpeckerci/plugin-docker-buildx:5\n    settings: {repo: acme/app, tags: latest}\nservices:\n  - name: db\n    image: \"postgres:16\"\nclone:\n  git:\n    image: woodpeckerci/plugin-git:2\n",
			[]string{"golang:1.23", "woodpeckerci/plugin-docker-buildx:5", "postgres:16", "woodpeckerci/plugin-git:2"}, nil},
		{"buildkite docker and docker-compose plugins", "buildkite", ".buildkite/pipeline.yml",
			"steps:\n  - label: test\n    command: make\n    plugins:\n      - docker#v5.12.0:\n          image: \"golang:1.23\"\n      - docker-compose#v5.5.0:\n          run: app\n          image: app-base:1\n      - artifacts#v1.9.4:\n          image: not-a-ref:1\n  - group: more\n    steps:\n      - plugins:\n          buildkite-plugins/docker-buildkite-plugin#v5:\n            image: cgr.dev/chainguard/node:latest\n",
			[]string{"golang:1.23", "app-base:1", "cgr.dev/chainguard/node:latest"}, nil},
		{"cloud build steps, substitutions", "cloudbuild", "cloudbuild.yaml",
			"steps:\n- name: 'gcr.io/cloud-builders/docker:24.0.9'\n  args: ['build', '-t', 'gcr.io/$PROJECT_ID/app', '.']\n- name: gcr.io/$PROJECT_ID/tool:1\n- name: golang:1.23 # test\n  entrypoint: go\nimages: ['gcr.io/$PROJECT_ID/app']\n",
			[]string{"gcr.io/cloud-builders/docker:24.0.9", "golang:1.23"}, []string{"gcr.io/$PROJECT_ID/tool:1"}},
		{"cloud build json", "cloudbuild", "cloudbuild.json",
			"{\n  \"steps\": [\n    {\"name\": \"gcr.io/cloud-builders/gcloud:latest\", \"args\": [\"version\"]}\n  ]\n}\n",
			[]string{"gcr.io/cloud-builders/gcloud:latest"}, nil},
		{"ko base images", "ko", ".ko.yaml",
			"defaultBaseImage: cgr.dev/chainguard/static:latest\nbaseImageOverrides:\n  github.com/acme/app/cmd/a: \"cgr.dev/chainguard/glibc-dynamic:latest\"\n  github.com/acme/app/cmd/b: ko://github.com/acme/base\nbuilds:\n- id: a\n  main: ./cmd/a\n",
			[]string{"cgr.dev/chainguard/static:latest", "cgr.dev/chainguard/glibc-dynamic:latest"}, []string{"ko://github.com/acme/base"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			found, skipped, err := Find(tc.kind, tc.path, []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, f := range found {
				texts = append(texts, f.Text)
			}
			if strings.Join(texts, "|") != strings.Join(tc.pins, "|") {
				t.Errorf("found %q, want %q", texts, tc.pins)
			}
			texts = nil
			for _, s := range skipped {
				texts = append(texts, s.Text)
			}
			if strings.Join(texts, "|") != strings.Join(tc.skip, "|") {
				t.Errorf("skipped %q, want %q", texts, tc.skip)
			}
			out, _ := pinAll(t, []byte(tc.in), found)
			want := tc.in
			for _, p := range tc.pins {
				want = strings.Replace(want, p, p+"\x00", 1)
			}
			want = strings.ReplaceAll(want, "\x00", D)
			if string(out) != want {
				t.Errorf("got\n%s\nwant\n%s", out, want)
			}
			checkPins(t, tc.kind, tc.path, []byte(tc.in), found)
		})
	}
}

func TestAnsible(t *testing.T) {
	D := "@" + fixed.String()
	in := "- hosts: all\n  tasks:\n  - name: run web\n    community.docker.docker_container:\n      name: web\n      image: \"cgr.dev/chainguard/nginx:latest\"\n  - block:\n    - containers.podman.podman_container:\n        name: db\n        image: postgres:16 # db\n    - docker_image:\n        name: alpine:3\n        source: pull\n    - docker_image:\n        name: acme/app:dev\n        source: build\n        build: {path: .}\n    - community.docker.docker_image:\n        name: redis\n        tag: '7'\n  - name: deploy\n    kubernetes.core.k8s:\n      state: present\n      definition:\n        apiVersion: apps/v1\n        kind: Deployment\n        spec:\n          template:\n            spec:\n              containers:\n              - name: a\n                image: '{{ app_image }}'\n              - name: b\n                image: busybox:1.36\n  - name: not an image\n    ansible.builtin.debug:\n      msg: \"image: x:1\"\n"
	found, skipped, err := Find("ansible", "site.yml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, f := range found {
		texts = append(texts, f.Text)
	}
	if got := strings.Join(texts, "|"); got != "cgr.dev/chainguard/nginx:latest|postgres:16|alpine:3|busybox:1.36" {
		t.Errorf("found %s", got)
	}
	texts = nil
	for _, s := range skipped {
		texts = append(texts, s.Text)
	}
	if got := strings.Join(texts, "|"); got != "acme/app:dev|redis|{{ app_image }}" {
		t.Errorf("skipped %s", got)
	}
	out, _ := pinAll(t, []byte(in), found)
	if !strings.Contains(string(out), "image: postgres:16"+D+" # db\n") || !strings.Contains(string(out), "name: alpine:3"+D+"\n") {
		t.Errorf("got\n%s", out)
	}
	checkPins(t, "ansible", "site.yml", []byte(in), found)
}
