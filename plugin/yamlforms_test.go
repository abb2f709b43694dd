package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// TestPinDockerSchemeAndHelmImageKeyThroughDocker: cgpin pins "docker://"
// images in a workflow's container and services and a CircleCI executor
// (the prefix kept, the image after it resolved, where it used to be read
// as a registry named "docker:" and fail the run), and an ingress-nginx
// values.yaml's registry/image/tag/digest specs through their digest: or
// tag:, never their image:; a spec whose digest is set is pinned already.
func TestPinDockerSchemeAndHelmImageKeyThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	node := s.Push(t, "library/node", "24", t0)
	pg := s.Push(t, "library/postgres", "16", t0)
	ctl := s.Push(t, "ingress-nginx/controller", "v1.15.1", t0)
	certgen := s.Push(t, "ingress-nginx/kube-webhook-certgen", "v1.6.5", t0)
	backend := s.Push(t, "defaultbackend-amd64", "1.5", t0)
	dir := t.TempDir()
	files := map[string]string{
		".github/workflows/ci.yml": "jobs:\n  t:\n    container: docker://" + s.Ref("library/node", "24") + "\n    services:\n      db:\n        image: \"docker://" + s.Ref("library/postgres", "16") + "\"\n",
		".circleci/config.yml":     "jobs:\n  t:\n    docker:\n      - image: docker://" + s.Ref("library/node", "24") + "\n",
		"chart/Chart.yaml":         "apiVersion: v2\nname: ingress\nversion: 1.0.0\n",
		"chart/values.yaml": "controller:\n  image:\n    registry: " + s.Host + "\n    image: ingress-nginx/controller\n    tag: \"v1.15.1\"\n    digest: \"\"\n    digestChroot: \"\"\n" +
			"  admissionWebhooks:\n    patch:\n      image:\n        registry: " + s.Host + "\n        image: ingress-nginx/kube-webhook-certgen\n        tag: v1.6.5\n        digest: " + certgen.Digest.String() + "\n" +
			"defaultBackend:\n  image:\n    registry: " + s.Host + "\n    image: defaultbackend-amd64\n    tag: \"1.5\"\n",
	}
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
	d.docker("cgpin", "--check", dir).fails(t, "5 references are not pinned")
	d.docker("cgpin", dir).ok(t)
	want := map[string]string{
		".github/workflows/ci.yml": strings.Replace(strings.Replace(files[".github/workflows/ci.yml"],
			"/library/node:24\n", "/library/node:24@"+node.Digest.String()+"\n", 1),
			"/library/postgres:16\"", "/library/postgres:16@"+pg.Digest.String()+"\"", 1),
		".circleci/config.yml": strings.Replace(files[".circleci/config.yml"], ":24\n", ":24@"+node.Digest.String()+"\n", 1),
		"chart/values.yaml": strings.Replace(strings.Replace(files["chart/values.yaml"],
			"    digest: \"\"\n", "    digest: \""+ctl.Digest.String()+"\"\n", 1),
			"tag: \"1.5\"", "tag: \"1.5@"+backend.Digest.String()+"\"", 1),
	}
	for name, w := range want {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != w {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}
	d.docker("cgpin", "--check", dir).ok(t)
	// A new build of the tag: --update moves the digest: set by hand.
	newer := s.Push(t, "ingress-nginx/kube-webhook-certgen", "v1.6.5", t0.Add(time.Hour))
	if newer.Digest == certgen.Digest {
		t.Fatal("the new build has the old digest")
	}
	d.docker("cgpin", "--update", dir).ok(t)
	w := strings.Replace(want["chart/values.yaml"], "digest: "+certgen.Digest.String()+"\n", "digest: "+newer.Digest.String()+"\n", 1)
	if got, _ := os.ReadFile(filepath.Join(dir, "chart/values.yaml")); string(got) != w {
		t.Errorf("after --update, values.yaml = %q, want %q", got, w)
	}
}
