package yamlref

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// mergeBomb is a "billion laughs" of merge keys: each level's anchor
// merges the level before sixteen times, so twelve levels stand for 16^12
// mappings in about 1.2 KB.
func mergeBomb() string {
	var b strings.Builder
	b.WriteString("x-l0: &l0 {restart: always}\n")
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&b, "x-l%d: &l%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), 16), ","))
	}
	b.WriteString("services:\n  web:\n    <<: *l12\n    image: nginx:1.27\n")
	return b.String()
}

// TestMergeBomb: the bomb is refused by every kind, naming the limit, and
// Sniff takes it (so that Find says why) instead of hanging.
func TestMergeBomb(t *testing.T) {
	bomb := mergeBomb()
	if len(bomb) > 1300 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	want := fmt.Sprintf("expands to more than %d nodes through aliases and merge keys", MaxExpansion)
	for _, kind := range Kinds() {
		_, _, err := Find(kind, "compose.yaml", []byte(bomb))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", kind, err, want)
		}
	}
	k8s := "apiVersion: v1\nkind: Pod\n" + bomb
	if k, ok := Sniff("pod.yaml", []byte(k8s)); !ok || k != ref.Kubernetes {
		t.Errorf("Sniff = %q %v, want the bomb taken so that Find reports it", k, ok)
	}
	if _, _, err := Find(ref.Kubernetes, "pod.yaml", []byte(k8s)); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("kubernetes: err = %v", err)
	}
	// Aliases of sequences and of big anchors count as well as merge keys.
	seq := "a: &a [" + strings.Repeat("x,", 999) + "x]\nb: &b [" + strings.Repeat("*a,", 999) + "*a]\nc: [" + strings.Repeat("*b,", 9) + "*b]\n"
	if _, _, err := Find(ref.Helm, "values.yaml", []byte(seq)); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("sequence aliases: err = %v", err)
	}
}

// TestAliasCycle: an anchor that holds an alias to itself expands
// forever: an error naming it.
func TestAliasCycle(t *testing.T) {
	for _, src := range []string{"a: &a [*a]\n", "x: &x {<<: *x, image: a:1}\n", "s: &s {t: {u: *s}}\nservices: *s\n"} {
		_, _, err := Find(ref.Compose, "compose.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "contains an alias to itself") {
			t.Errorf("%q: err = %v", src, err)
		}
	}
}

// TestDeepNesting: nesting deeper than MaxDepth is an error with the
// limit, in YAML and in JSON (dev containers' JSONC), well before the
// parser's own limit.
func TestDeepNesting(t *testing.T) {
	want := fmt.Sprintf("nests deeper than %d levels", MaxDepth)
	n := MaxDepth + 1
	for _, tc := range []struct {
		kind ref.FileKind
		path string
		src  string
	}{
		{ref.Helm, "values.yaml", "image: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n"},
		{ref.Kubernetes, "pod.yaml", "apiVersion: v1\nkind: Pod\nspec: " + strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n) + "\n"},
		{ref.CircleCI, "config.yml", strings.Repeat("- ", n) + "x\n"},
		{ref.DevContainer, "devcontainer.json", "{\"image\": \"a:1\", \"x\": " + strings.Repeat("[", n) + strings.Repeat("]", n) + ",}"},
	} {
		_, _, err := Find(tc.kind, tc.path, []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", tc.kind, err, want)
		}
	}
	// A chain of anchors, each holding an alias to the one before, nests
	// deeper through aliases than in the file (CircleCI's finder walks
	// them where they are used, not under docker:, where they are defined).
	var chain strings.Builder
	chain.WriteString("- docker: &a0 [x]\n")
	for i := 1; i <= MaxDepth; i++ {
		fmt.Fprintf(&chain, "- docker: &a%d [*a%d]\n", i, i-1)
	}
	fmt.Fprintf(&chain, "- jobs: *a%d\n", MaxDepth)
	if _, _, err := Find(ref.CircleCI, "config.yml", []byte(chain.String())); err == nil || !strings.Contains(err.Error(), want+" through aliases") {
		t.Errorf("alias chain: err = %v, want %q", err, want+" through aliases")
	}
	// At the limit, a file is read.
	ok := "image: a:1\nx: " + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + "\n"
	if found, _, err := Find(ref.Helm, "values.yaml", []byte(ok)); err != nil || len(found) != 1 {
		t.Errorf("nesting at the limit: %v, %d found", err, len(found))
	}
}

// TestAnchorsWithinLimits: a file that uses anchors and merge keys as
// real files do is read and pinned.
func TestAnchorsWithinLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-base: &base\n  image: &img cgr.dev/chainguard/nginx:latest\n  restart: always\n  environment: &env {A: '1', B: '2'}\nx-more: &more\n  <<: *base\n  labels: {a: b}\nservices:\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  s%d:\n    <<: [*more, *base]\n    environment: *env\n", i)
	}
	b.WriteString("  own:\n    <<: *base\n    image: redis:7\n")
	src := []byte(b.String())
	found, _, err := Find(ref.Compose, "compose.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0].Text != "cgr.dev/chainguard/nginx:latest" || found[1].Text != "redis:7" {
		t.Fatalf("found %v", found)
	}
	checkPins(t, ref.Compose, "compose.yaml", src, found)
}

// TestFindContext: a cancelled context stops the read with its error.
func TestFindContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := FindContext(ctx, ref.Compose, "compose.yaml", []byte("services:\n  a:\n    image: a:1\n"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
