package yamlref

import (
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// FuzzPin: for any input of any kind that parses, pinning every reference
// leaves the bytes outside the edited spans as they were, the output parses
// to the same references (now pinned), and a second run changes nothing.
func FuzzPin(f *testing.F) {
	seeds := []string{
		"services:\n  web:\n    image: \"nginx:1.27\" # c\n  b:\n    build: .\n    image: x\n",
		"x: &a\n  image: &i alpine:3\nservices:\n  s:\n    <<: *a\n",
		"apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: 'b:1'}]\n---\napiVersion: v1\nkind: List\nitems: []\n",
		"images:\n- name: nginx\n  newTag: \"1\"\n",
		"image:\n  repository: a/b\n  tag: 1.2\n  digest: \"\"\n",
		"jobs:\n  a:\n    container: {image: golang:1}\n    steps:\n    - uses: docker://alpine:3\n",
		"image: {name: ruby:3}\nservices: [postgres:16]\n",
		"jobs:\n  b:\n    docker:\n    - image: cimg/go:1\n",
		"{\"image\": \"mcr.microsoft.com/x:1\", // c\n}",
		"\xEF\xBB\xBFservices:\r\n  w:\r\n    image: n:1\r\n",
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	kinds := ref.FileKinds[1:] // every YAML kind
	f.Fuzz(func(t *testing.T, k uint8, src []byte) {
		kind := kinds[int(k)%len(kinds)]
		p := "file.yaml"
		if kind == ref.DevContainer {
			p = "devcontainer.json"
		}
		found, _, err := Find(kind, p, src)
		if err != nil {
			return
		}
		checkPins(t, kind, p, src, found)
	})
}
