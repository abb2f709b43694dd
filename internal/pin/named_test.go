package pin

import (
	"context"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"gotest.tools/v3/assert"
)

// TestNamedFileByContent: a file named on the command line whose name
// tells no kind is read as its content says: Kubernetes (YAML or JSON), a
// Dockerfile, or else an error listing the kinds (passed over with
// --skip-unknown). A Pod in deploy/pod.manifest used to be read as a
// Dockerfile with no FROM: "0 of 1 file", exit 0, nothing pinned.
func TestNamedFileByContent(t *testing.T) {
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/nginx", "latest", t0)
	nginx := s.Ref("chainguard/nginx", "latest")
	pinned := nginx + "@" + img.Digest.String()
	dir := t.TempDir()
	pod := write(t, dir, "deploy/pod.manifest", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: web\n    image: "+nginx+"\n")
	podJSON := write(t, dir, "deploy/pod.tmpl", `{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "web", "image": "`+nginx+`"}]}}`+"\n")
	df := write(t, dir, "build/Dockerfile-prod", "# production build\nARG BASE="+nginx+"\nFROM ${BASE}\nRUN true\n")
	text := write(t, dir, "notes.txt", "Deploy with image: "+nginx+"\n")
	prose := write(t, dir, "Dockerfile.md", "Build\n=====\n\nFROM the base image, then RUN the tests.\n")
	empty := write(t, dir, "empty.conf", "")

	build := func(opts Options, kinds []ref.FileKind, paths ...string) (*Plan, error) {
		src, err := Collect(paths, nil, kinds)
		assert.NilError(t, err)
		return Build(context.Background(), src, resolver(t), opts)
	}
	for _, tc := range []struct {
		path string
		kind ref.FileKind
		want string
	}{
		{pod, ref.Kubernetes, strings.Replace(read(t, pod), nginx, pinned, 1)},
		{podJSON, ref.Kubernetes, strings.Replace(read(t, podJSON), nginx, pinned, 1)},
		{df, ref.Dockerfile, strings.Replace(read(t, df), nginx, pinned, 1)},
	} {
		p, err := build(Options{}, nil, tc.path)
		assert.NilError(t, err, tc.path)
		assert.Equal(t, len(p.Files), 1, tc.path)
		assert.Equal(t, p.Files[0].Kind, tc.kind, tc.path)
		assert.Equal(t, len(p.Changes()), 1, tc.path)
		assert.Equal(t, string(p.Files[0].New), tc.want)
	}

	// Neither: an error naming the file and listing the kinds, for each.
	_, err := build(Options{}, nil, text, prose, empty, pod)
	for _, f := range []string{text, prose, empty} {
		assert.ErrorContains(t, err, f+": not a kind of file cgpin knows ("+kindList()+"); name it with --kind, or pass over such files with --skip-unknown")
	}
	assert.Assert(t, !strings.Contains(err.Error(), pod), err)
	// --skip-unknown passes over them, and pins the rest.
	p, err := build(Options{SkipUnknown: true}, nil, text, prose, empty, pod)
	assert.NilError(t, err)
	assert.Equal(t, len(p.Files), 1)
	assert.Equal(t, len(p.Changes()), 1)

	// --kind: one kind reads the file as that kind; of several, the
	// content decides among those asked for.
	p, err = build(Options{}, []ref.FileKind{ref.Dockerfile}, pod)
	assert.NilError(t, err)
	assert.Equal(t, p.Files[0].Kind, ref.Dockerfile)
	_, err = build(Options{}, []ref.FileKind{ref.Kubernetes, ref.Compose}, df)
	assert.ErrorContains(t, err, "Dockerfile-prod: not a kind of file cgpin knows")
	p, err = build(Options{}, []ref.FileKind{ref.Kubernetes, ref.Compose}, pod)
	assert.NilError(t, err)
	assert.Equal(t, p.Files[0].Kind, ref.Kubernetes)
	src, err := Collect([]string{pod, df}, nil, []ref.FileKind{ref.Compose, ref.Helm})
	assert.NilError(t, err)
	assert.Equal(t, len(src), 0)
}
