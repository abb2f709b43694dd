package yamlref_test

import (
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/yamlref"
)

// FuzzPin: for any input of any kind that parses, pinning every reference
// leaves the bytes outside the edited spans as they were, the output parses
// to the same references (now pinned), and a second run changes nothing.
// The seeds include trees of merge keys and aliases (a small "billion
// laughs" among them): whatever the fuzzer makes of them, Find returns,
// within MaxExpansion and MaxDepth.
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
		// Merge-key trees: merges of merges, lists of merges, overrides.
		"x-a: &a {image: a:1, restart: always}\nx-b: &b {<<: [*a, *a], command: x}\nservices:\n  s: {<<: [*b, *a]}\n  t:\n    <<: *b\n    image: t:2\n",
		".t: &t\n  image: {name: k:1}\n.u: &u\n  <<: *t\n  services: [p:16]\nbuild:\n  <<: [*u, *t]\n",
		"apiVersion: v1\nkind: Pod\nx: &c {name: a, image: b:1}\nspec:\n  containers: [*c, {<<: *c, name: d}]\n  initContainers: &i [{<<: *c}]\n  ephemeralContainers: *i\n",
		"base: &b {repository: a/b, tag: '1'}\nimage:\n  <<: *b\nside:\n  image: {<<: *b, tag: '2'}\n",
		"images:\n- &e {name: n, newTag: '1'}\n- {<<: *e, name: m}\n- *e\n",
		"d: &d [{image: c:1}]\njobs:\n  j: {docker: *d}\n  k: {docker: [{<<: {image: e:1}}]}\n",
		"l0: &l0 {image: a:1}\nl1: &l1 {<<: [*l0, *l0, *l0, *l0]}\nl2: &l2 {<<: [*l1, *l1, *l1, *l1]}\nl3: &l3 {<<: [*l2, *l2, *l2, *l2]}\nservices: {s: *l3}\n",
		"a: &a {<<: *a, image: x:1}\n",
		"- &a0 [x]\n- &a1 [*a0]\n- &a2 [*a1, *a1]\n- [*a2, *a2]\n",
		yamlref.MergeBomb(),
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	kinds := yamlref.Kinds() // every YAML kind
	f.Fuzz(func(t *testing.T, k uint8, src []byte) {
		kind := kinds[int(k)%len(kinds)]
		p := "file.yaml"
		if kind == ref.DevContainer {
			p = "devcontainer.json"
		}
		found, _, err := yamlref.Find(kind, p, src)
		if err != nil {
			return
		}
		yamlref.CheckPins(t, kind, p, src, found)
	})
}
