package yamlref

import (
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

func TestPinCases(t *testing.T) {
	D := "@" + fixed.String()
	old := "@sha256:" + strings.Repeat("0", 64)
	cases := []struct {
		name string
		kind ref.FileKind
		path string
		in   string
		want string
		skip []string // texts left alone
	}{
		{"compose quotes and comments", ref.Compose, "compose.yaml",
			"services:\n  web:\n    image: \"nginx:1.27\" # front\n  db:\n    image: 'postgres:16'\n  cache:\n    image: redis\n",
			"services:\n  web:\n    image: \"nginx:1.27" + D + "\" # front\n  db:\n    image: 'postgres:16" + D + "'\n  cache:\n    image: redis" + D + "\n", nil},
		{"compose build names its image", ref.Compose, "docker-compose.yml",
			"services:\n  app:\n    build: .\n    image: acme/app:dev\n  db:\n    image: postgres:16\n",
			"services:\n  app:\n    build: .\n    image: acme/app:dev\n  db:\n    image: postgres:16" + D + "\n", []string{"acme/app:dev"}},
		{"compose anchors and merge keys", ref.Compose, "compose.yml",
			"x-base: &base\n  image: &img cgr.dev/chainguard/go:latest\n  restart: always\nservices:\n  a:\n    <<: *base\n  b:\n    <<: *base\n    command: x\n  c:\n    image: *img\n",
			"x-base: &base\n  image: &img cgr.dev/chainguard/go:latest" + D + "\n  restart: always\nservices:\n  a:\n    <<: *base\n  b:\n    <<: *base\n    command: x\n  c:\n    image: *img\n", nil},
		{"compose variables", ref.Compose, "compose.yaml",
			"services:\n  a:\n    image: ${IMAGE:-nginx:1}\n  b:\n    image: $REG/app:1\n  c:\n    image: >-\n      nginx:1\n",
			"services:\n  a:\n    image: ${IMAGE:-nginx:1}\n  b:\n    image: $REG/app:1\n  c:\n    image: >-\n      nginx:1\n", []string{"${IMAGE:-nginx:1}", "$REG/app:1", "nginx:1"}},
		{"compose CRLF and BOM", ref.Compose, "compose.yaml",
			"\xEF\xBB\xBFservices:\r\n  web:\r\n    image: nginx:1.27\r\n",
			"\xEF\xBB\xBFservices:\r\n  web:\r\n    image: nginx:1.27" + D + "\r\n", nil},
		{"kubernetes multi-document and flow style", ref.Kubernetes, "k8s.yaml",
			"apiVersion: v1\nkind: Pod\nspec:\n  initContainers: [{name: init, image: busybox:1.36}]\n  containers:\n  - name: app\n    image: app:1" + old + "\n---\n# a comment\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      ephemeralContainers:\n      - image: debug:1\n      containers:\n        - image: \"nginx\"\n",
			"apiVersion: v1\nkind: Pod\nspec:\n  initContainers: [{name: init, image: busybox:1.36" + D + "}]\n  containers:\n  - name: app\n    image: app:1" + D + "\n---\n# a comment\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      ephemeralContainers:\n      - image: debug:1" + D + "\n      containers:\n        - image: \"nginx" + D + "\"\n", nil},
		{"kubernetes json list", ref.Kubernetes, "list.json",
			"{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"List\",\n\t\"items\": [{\"kind\": \"Pod\", \"spec\": {\"containers\": [{\"image\": \"k8s.gcr.io/pause:3.7\"}]}}]\n}",
			"{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"List\",\n\t\"items\": [{\"kind\": \"Pod\", \"spec\": {\"containers\": [{\"image\": \"k8s.gcr.io/pause:3.7" + D + "\"}]}}]\n}", nil},
		{"kubernetes configmap data and tekton steps", ref.Kubernetes, "task.yaml",
			"apiVersion: tekton.dev/v1\nkind: Task\nspec:\n  params:\n  - name: image\n    default: golang:1.22\n  steps:\n  - name: build\n    image: $(params.image)\n  - name: lint\n    image: golangci/golangci-lint:v1\n  stepTemplate:\n    image: alpine:3\n---\napiVersion: v1\nkind: ConfigMap\ndata:\n  pod.yaml: |\n    image: nginx:1\n",
			"apiVersion: tekton.dev/v1\nkind: Task\nspec:\n  params:\n  - name: image\n    default: golang:1.22\n  steps:\n  - name: build\n    image: $(params.image)\n  - name: lint\n    image: golangci/golangci-lint:v1" + D + "\n  stepTemplate:\n    image: alpine:3" + D + "\n---\napiVersion: v1\nkind: ConfigMap\ndata:\n  pod.yaml: |\n    image: nginx:1\n", []string{"$(params.image)"}},
		{"kustomize adds and fills digest", ref.Kustomize, "kustomization.yaml",
			"images:\n- name: nginx\n  newTag: \"1.27\" # web\n- name: app\n  newName: ghcr.io/acme/app\n  newTag: v2\n  digest: " + old[1:] + "\n- name: noTag\n  newName: x/y\n",
			"images:\n- name: nginx\n  newTag: \"1.27\" # web\n  digest: " + D[1:] + "\n- name: app\n  newName: ghcr.io/acme/app\n  newTag: v2\n  digest: " + D[1:] + "\n- name: noTag\n  newName: x/y\n", []string{"x/y"}},
		{"kustomize aliases and null digests", ref.Kustomize, "kustomization.yaml",
			"images:\n- name: a\n  newTag: &t \"1.0\"\n- name: b\n  newTag: *t\n- name: c\n  newTag: v1\n  digest: null\n",
			"images:\n- name: a\n  newTag: &t \"1.0\"\n  digest: " + D[1:] + "\n- name: b\n  newTag: *t\n- name: c\n  newTag: v1\n  digest: " + D[1:] + "\n", []string{"b:1.0"}},
		{"kustomize CRLF indentation", ref.Kustomize, "kustomization.yml",
			"images:\r\n  - name: nginx\r\n    newTag: 1.27\r\n",
			"images:\r\n  - name: nginx\r\n    newTag: 1.27\r\n    digest: " + D[1:] + "\r\n", nil},
		{"helm split with and without digest", ref.Helm, "values.yaml",
			"image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: 8.2.1\n  digest: \"\"\nsidecar:\n  image:\n    repository: busybox\n    tag: 1.36\nhelperImage:\n  repository: alpine\n  tag: \"3.20\"\nother:\n  image: nginx:1\nnoTag:\n  image:\n    repository: x\n    tag: null\nemptyDigest:\n  image:\n    repository: y\n    tag: v1\n    digest:\n",
			"image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: 8.2.1\n  digest: \"" + D[1:] + "\"\nsidecar:\n  image:\n    repository: busybox\n    tag: \"1.36" + D + "\"\nhelperImage:\n  repository: alpine\n  tag: \"3.20" + D + "\"\nother:\n  image: nginx:1" + D + "\nnoTag:\n  image:\n    repository: x\n    tag: null\nemptyDigest:\n  image:\n    repository: y\n    tag: v1\n    digest: " + D[1:] + "\n", []string{"x"}},
		{"helm templated value", ref.Helm, "values.yaml",
			"image: \"{{ .Values.registry }}/app:1\"\n", "image: \"{{ .Values.registry }}/app:1\"\n", []string{"{{ .Values.registry }}/app:1"}},
		{"github actions", ref.GitHubActions, ".github/workflows/ci.yml",
			"jobs:\n  a:\n    container: golang:1.22\n    services:\n      db:\n        image: postgres:16\n    steps:\n    - uses: actions/checkout@v4\n    - uses: docker://alpine:3.20\n  b:\n    container:\n      image: ${{ matrix.image }}\n  c:\n    container:\n      image: 'node:20'\n",
			"jobs:\n  a:\n    container: golang:1.22" + D + "\n    services:\n      db:\n        image: postgres:16" + D + "\n    steps:\n    - uses: actions/checkout@v4\n    - uses: docker://alpine:3.20" + D + "\n  b:\n    container:\n      image: ${{ matrix.image }}\n  c:\n    container:\n      image: 'node:20" + D + "'\n", []string{"${{ matrix.image }}"}},
		{"github actions docker:// container and services", ref.GitHubActions, ".github/workflows/ci.yml",
			"jobs:\n  a:\n    container: docker://node:24\n    services:\n      db: docker://postgres:16\n      cache:\n        image: \"docker://redis:7\"\n  b:\n    container:\n      image: 'docker://ghcr.io/acme/app:1" + old + "'\n    services:\n      x:\n        image: docker://${{ matrix.img }}\n",
			"jobs:\n  a:\n    container: docker://node:24" + D + "\n    services:\n      db: docker://postgres:16" + D + "\n      cache:\n        image: \"docker://redis:7" + D + "\"\n  b:\n    container:\n      image: 'docker://ghcr.io/acme/app:1" + D + "'\n    services:\n      x:\n        image: docker://${{ matrix.img }}\n", []string{"docker://${{ matrix.img }}"}},
		{"compose has no docker:// scheme", ref.Compose, "compose.yaml",
			"services:\n  a:\n    image: docker://node:24\n", "services:\n  a:\n    image: docker://node:24\n", []string{"docker://node:24"}},
		{"docker action", ref.GitHubActions, "action.yml",
			"runs:\n  using: docker\n  image: docker://ghcr.io/acme/tool:1\n", "runs:\n  using: docker\n  image: docker://ghcr.io/acme/tool:1" + D + "\n", nil},
		{"dockerfile action", ref.GitHubActions, "action.yml",
			"runs:\n  using: docker\n  image: Dockerfile\n", "runs:\n  using: docker\n  image: Dockerfile\n", nil},
		{"gitlab", ref.GitLabCI, ".gitlab-ci.yml",
			"image: ruby:3.3\nservices:\n  - postgres:16\n  - name: redis:7\n    alias: cache\ndefault:\n  image: alpine:3\nvariables:\n  IMG: nope:1\n.tpl: &tpl\n  image:\n    name: gcr.io/kaniko-project/executor:debug\n    entrypoint: [\"\"]\nbuild:\n  <<: *tpl\n  script: [echo]\ntest:\n  image: $CI_IMAGE\n",
			"image: ruby:3.3" + D + "\nservices:\n  - postgres:16" + D + "\n  - name: redis:7" + D + "\n    alias: cache\ndefault:\n  image: alpine:3" + D + "\nvariables:\n  IMG: nope:1\n.tpl: &tpl\n  image:\n    name: gcr.io/kaniko-project/executor:debug" + D + "\n    entrypoint: [\"\"]\nbuild:\n  <<: *tpl\n  script: [echo]\ntest:\n  image: $CI_IMAGE\n", []string{"$CI_IMAGE"}},
		{"circleci", ref.CircleCI, ".circleci/config.yml",
			"jobs:\n  build:\n    docker:\n      - image: cimg/go:1.22\n      - image: cimg/postgres:16.0\n  vm:\n    machine:\n      image: ubuntu-2204:current\n  param:\n    docker:\n      - image: <<parameters.img>>\n",
			"jobs:\n  build:\n    docker:\n      - image: cimg/go:1.22" + D + "\n      - image: cimg/postgres:16.0" + D + "\n  vm:\n    machine:\n      image: ubuntu-2204:current\n  param:\n    docker:\n      - image: <<parameters.img>>\n", []string{"<<parameters.img>>"}},
		{"circleci docker:// executor", ref.CircleCI, ".circleci/config.yml",
			"executors:\n  node:\n    docker:\n      - image: docker://cimg/node:24.1\n        auth: {username: x}\njobs:\n  t:\n    docker: [{image: 'docker://cimg/base:current'}]\n",
			"executors:\n  node:\n    docker:\n      - image: docker://cimg/node:24.1" + D + "\n        auth: {username: x}\njobs:\n  t:\n    docker: [{image: 'docker://cimg/base:current" + D + "'}]\n", nil},
		// ingress-nginx's chart: image: is the repository, beside registry:,
		// tag:, digest: and digestChroot: (another image's digest).
		{"helm ingress-nginx split specs", ref.Helm, "values.yaml",
			"controller:\n  image:\n    chroot: false\n    registry: registry.k8s.io\n    image: ingress-nginx/controller\n    tag: \"v1.15.1\"\n    digest: " + old[1:] + "\n    digestChroot: " + old[1:] + "\n    pullPolicy: IfNotPresent\n" +
				"  admissionWebhooks:\n    patch:\n      image:\n        registry: registry.k8s.io\n        image: ingress-nginx/kube-webhook-certgen\n        tag: v1.6.5\n        digest: \"\"\n" +
				"defaultBackend:\n  image:\n    image: defaultbackend-amd64\n    tag: \"1.5\"\n" +
				"chrooted:\n  image:\n    chroot: true\n    image: ingress-nginx/controller\n    tag: v1\n    digest:\n",
			"controller:\n  image:\n    chroot: false\n    registry: registry.k8s.io\n    image: ingress-nginx/controller\n    tag: \"v1.15.1\"\n    digest: " + D[1:] + "\n    digestChroot: " + old[1:] + "\n    pullPolicy: IfNotPresent\n" +
				"  admissionWebhooks:\n    patch:\n      image:\n        registry: registry.k8s.io\n        image: ingress-nginx/kube-webhook-certgen\n        tag: v1.6.5\n        digest: \"" + D[1:] + "\"\n" +
				"defaultBackend:\n  image:\n    image: defaultbackend-amd64\n    tag: \"1.5" + D + "\"\n" +
				"chrooted:\n  image:\n    chroot: true\n    image: ingress-nginx/controller\n    tag: v1\n    digest:\n", []string{"ingress-nginx/controller:v1"}},
		{"devcontainer jsonc", ref.DevContainer, ".devcontainer/devcontainer.json",
			"// comment\n{\n\t\"name\": \"Go\", // trailing\n\t/* block */ \"image\": \"mcr.microsoft.com/devcontainers/go:1\",\n\t\"features\": {\"ghcr.io/devcontainers/features/node:1\": {},},\n}",
			"// comment\n{\n\t\"name\": \"Go\", // trailing\n\t/* block */ \"image\": \"mcr.microsoft.com/devcontainers/go:1" + D + "\",\n\t\"features\": {\"ghcr.io/devcontainers/features/node:1\": {},},\n}", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			found, skipped, err := Find(tc.kind, tc.path, []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := pinAll(t, []byte(tc.in), found)
			if string(out) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out, tc.want)
			}
			var texts []string
			for _, s := range skipped {
				texts = append(texts, s.Text)
			}
			if strings.Join(texts, "|") != strings.Join(tc.skip, "|") {
				t.Errorf("skipped %q, want %q", texts, tc.skip)
			}
			for _, f := range found {
				if strings.Contains(f.Text, "://") || strings.HasSuffix(f.Image.Repo.RegistryStr(), ":") {
					t.Errorf("L%d %q read as registry %q", f.Line, f.Text, f.Image.Repo.RegistryStr())
				}
			}
			checkPins(t, tc.kind, tc.path, []byte(tc.in), found)
		})
	}
}

// TestHelmImageKeySplit checks what an ingress-nginx spec is found as:
// one reference each, the one with a digest already pinned.
func TestHelmImageKeySplit(t *testing.T) {
	old := "sha256:" + strings.Repeat("0", 64)
	src := "image:\n  registry: registry.k8s.io\n  image: ingress-nginx/controller\n  tag: v1.15.1\n  digest: " + old + "\nother:\n  image:\n    image: nginx\n    tag: \"1.27\"\n"
	found, skipped, err := Find(ref.Helm, "values.yaml", []byte(src))
	if err != nil || len(skipped) != 0 || len(found) != 2 {
		t.Fatalf("found %d, skipped %v, err %v", len(found), skipped, err)
	}
	if f := found[0]; f.Text != "registry.k8s.io/ingress-nginx/controller:v1.15.1@"+old || f.Image.Digest.String() != old || f.Line != 3 {
		t.Errorf("pinned spec found as %q (digest %v) at line %d", f.Text, f.Image.Digest, f.Line)
	}
	if f := found[1]; f.Text != "nginx:1.27" || f.Image.Pinned() {
		t.Errorf("unpinned spec found as %q (pinned %v)", f.Text, f.Image.Pinned())
	}
}

func TestSniff(t *testing.T) {
	if k, ok := Sniff("x.yaml", []byte("a: 1\n---\napiVersion: v1\nkind: Pod\n")); !ok || k != ref.Kubernetes {
		t.Errorf("Sniff = %q %v", k, ok)
	}
	if _, ok := Sniff("x.yaml", []byte("apiVersion: v1\nname: kind\n")); ok {
		t.Error("a document without kind sniffed as Kubernetes")
	}
}

func TestFindErrors(t *testing.T) {
	if _, _, err := Find(ref.Compose, "compose.yaml", []byte("services:\n  a: [\n")); err == nil || !strings.Contains(err.Error(), "line") {
		t.Errorf("bad YAML: %v", err)
	}
	if _, _, err := Find(ref.Compose, "compose.yaml", []byte("a\x00")); err == nil {
		t.Error("binary accepted")
	}
}
