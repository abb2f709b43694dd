// Package yamlref finds the image references in YAML and JSON files of the
// kinds that name images — Compose, Kubernetes (and CRDs that carry
// containers), Kustomize, Helm values, GitHub Actions, GitLab CI, CircleCI
// and dev containers — with go.yaml.in/yaml/v3, and says how to pin each in
// place: only the reference's bytes change, so quotes, flow style,
// comments, anchors, CRLF and BOM stay as written.
package yamlref

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.yaml.in/yaml/v3"
)

// decode reads every document of a YAML stream (JSON files normalised
// first), as mapping nodes' roots, and refuses a stream over the limits.
func decode(ctx context.Context, p string, src []byte) ([]*yaml.Node, error) {
	if strings.HasSuffix(strings.ToLower(p), ".json") {
		src = normaliseJSON(src)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	m := &measure{ctx: ctx, size: map[*yaml.Node]int{}}
	var docs []*yaml.Node
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot parse YAML: %w", err)
		}
		if _, err := m.node(&n, 0); err != nil {
			return nil, err
		}
		if len(n.Content) > 0 {
			docs = append(docs, n.Content[0])
		}
	}
}

// isNull reports an absent value: no node, "", null or ~.
func isNull(n *yaml.Node) bool { return n == nil || n.Tag == "!!null" || n.Value == "" }

// finder collects the references of one file.
type finder struct {
	s       *source
	seen    map[*yaml.Node]bool // scalars already taken (anchors shared by aliases)
	walked  map[*yaml.Node]bool // collections already walked (aliases, cycles)
	deep    bool                // visit went past MaxDepth
	found   []ref.Found
	skipped []ref.Skipped
	errs    []error
}

// resolve follows an alias to its anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// maxMerge bounds how deep merge keys are followed (a merge cycle or a
// "billion laughs" of aliases ends there).
const maxMerge = 16

// lookup returns the value of key in mapping m, following merge keys
// ("<<: *base") as YAML does: the mapping's own keys win.
func lookup(m *yaml.Node, key string) *yaml.Node { return lookupDepth(m, key, 0) }

func lookupDepth(m *yaml.Node, key string, depth int) *yaml.Node {
	m = resolve(m)
	if depth > maxMerge {
		return nil
	}
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Value == key && k.Tag != "!!merge":
			return v
		case k.Value == "<<" || k.Tag == "!!merge":
			if v = resolve(v); v != nil && v.Kind == yaml.SequenceNode {
				merged = append(merged, v.Content...)
			} else if v != nil {
				merged = append(merged, v)
			}
		}
	}
	for _, mm := range merged {
		if v := lookupDepth(mm, key, depth+1); v != nil {
			return v
		}
	}
	return nil
}

// entries lists a mapping's key/value pairs, merged ones included (own
// keys first, merged keys the mapping does not set after).
func entries(m *yaml.Node) [][2]*yaml.Node { return entriesDepth(m, 0) }

func entriesDepth(m *yaml.Node, depth int) [][2]*yaml.Node {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode || depth > maxMerge {
		return nil
	}
	var out [][2]*yaml.Node
	own := map[string]bool{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value == "<<" || k.Tag == "!!merge" {
			if v = resolve(v); v != nil && v.Kind == yaml.SequenceNode {
				merged = append(merged, v.Content...)
			} else if v != nil {
				merged = append(merged, v)
			}
			continue
		}
		own[k.Value] = true
		out = append(out, [2]*yaml.Node{k, v})
	}
	for _, mm := range merged {
		for _, kv := range entriesDepth(mm, depth+1) {
			if !own[kv[0].Value] {
				own[kv[0].Value] = true
				out = append(out, kv)
			}
		}
	}
	return out
}

func items(n *yaml.Node) []*yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

var (
	variable = regexp.MustCompile(`\$[A-Za-z_{(]`)
	// unpinnable says why a value cannot be a literal reference.
	unpinnable = []struct{ marker, reason string }{
		{"${{", "GitHub Actions expression"},
		{"{{", "template expression"},
		{"<<", "pipeline parameter"},
		{"ko://", "ko build path"},
	}
)

// why says why value is not a literal image reference, or "".
func why(value string) string {
	for _, u := range unpinnable {
		if strings.Contains(value, u.marker) {
			return u.reason
		}
	}
	if variable.MatchString(value) {
		return "contains unresolved variables"
	}
	return ""
}

// scheme says whether ref.DockerScheme ("docker://") may or must come
// before a reference: GitHub Actions' runner strips it wherever it reads
// an image.
type scheme int

const (
	noScheme     scheme = iota // the value is the reference (Compose, Kubernetes, …)
	dockerScheme               // "docker://" may come first (Actions' container and services, CircleCI)
	dockerOnly                 // only "docker://…" is an image (steps' uses, runs.image)
)

// scalar takes n (an image field's value) as a reference, after a
// "docker://" prefix where sc allows one; the prefix stays in the file.
// Values that are not plain references are left alone with their reason.
func (f *finder) scalar(n *yaml.Node, kind ref.Kind, sc scheme) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || f.seen[n] {
		return
	}
	f.seen[n] = true
	value := n.Value
	if isNull(n) {
		return
	}
	skip := func(reason string) {
		f.skipped = append(f.skipped, ref.Skipped{Kind: kind, Line: n.Line, Text: value, Reason: reason})
	}
	if r := why(value); r != "" {
		skip(r)
		return
	}
	prefix := 0
	if sc != noScheme {
		v, ok := ref.CutDockerScheme(value)
		if !ok && sc == dockerOnly {
			return // not an image (a path to build, an action)
		}
		prefix = len(value) - len(v)
	}
	start, end, reason := f.s.span(n)
	if reason != "" {
		skip(reason)
		return
	}
	start += prefix
	fd, err := ref.Parse(kind, n.Line, start, string(f.s.src[start:end]))
	if err != nil {
		skip("not an image reference")
		return
	}
	f.found = append(f.found, fd)
}

// walk reports whether collection n is to be walked: once, however many
// aliases lead to it.
func (f *finder) walk(n *yaml.Node) bool {
	if n == nil || f.walked[n] {
		return false
	}
	f.walked[n] = true
	return true
}

// visit walks every mapping entry under n, at any depth (each collection
// once, however many aliases lead to it); fn returns whether to go on
// below the entry's value.
func (f *finder) visit(n *yaml.Node, fn func(key string, v *yaml.Node) bool) {
	f.visitDepth(n, fn, 0)
}

func (f *finder) visitDepth(n *yaml.Node, fn func(key string, v *yaml.Node) bool, depth int) {
	n = resolve(n)
	if !f.walk(n) || f.deep {
		return
	}
	if depth++; depth > MaxDepth { // aliases can nest anchors deeper than the file
		f.deep = true
		f.errs = append(f.errs, &limitError{fmt.Sprintf("line %d: the file nests deeper than %d levels through aliases", n.Line, MaxDepth)})
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			f.visitDepth(c, fn, depth)
		}
	case yaml.MappingNode:
		for _, kv := range entries(n) {
			if fn(kv[0].Value, resolve(kv[1])) {
				f.visitDepth(kv[1], fn, depth)
			}
		}
	}
}

// digestField says how to write a digest into mapping m: into its digest
// value when it has one, else as a new "digest:" line after its last entry.
func (f *finder) digestField(m, digest *yaml.Node) (func(v1.Hash) ref.Edit, string) {
	if digest != nil {
		if digest.Value == "" && digest.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			return f.emptyValue(m, "digest") // "digest:" with nothing after it
		}
		start, end, reason := f.s.span(digest)
		if reason != "" {
			return nil, reason
		}
		return func(d v1.Hash) ref.Edit { return ref.Edit{Start: start, End: end, Text: d.String()} }, ""
	}
	if m.Style&yaml.FlowStyle != 0 || len(m.Content) < 2 {
		return nil, "flow-style mapping: add digest: by hand"
	}
	first, last := m.Content[0], m.Content[len(m.Content)-1]
	if last.Kind != yaml.ScalarNode { // an alias or a nested value: its bytes are elsewhere
		return nil, "cannot tell where the entry ends"
	}
	_, end, reason := f.s.span(last)
	if reason != "" {
		return nil, reason
	}
	at := f.s.lineEnd(end)
	indent := strings.Repeat(" ", first.Column-1)
	if line := f.s.src[f.s.offset(first.Line, 1):f.s.offset(first.Line, first.Column)]; bytes.ContainsAny(line, "\t") {
		return nil, "tab indentation"
	}
	nl := f.s.newline()
	return func(d v1.Hash) ref.Edit {
		return ref.Edit{Start: at, End: at, Text: nl + indent + "digest: " + d.String()}
	}, ""
}

// emptyValue writes a value after "key:" in m, where the key has none.
func (f *finder) emptyValue(m *yaml.Node, key string) (func(v1.Hash) ref.Edit, string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Value != key {
			continue
		}
		_, end, reason := f.s.span(k)
		if reason != "" {
			return nil, reason
		}
		if end >= len(f.s.src) || f.s.src[end] != ':' {
			return nil, "cannot find the value's place"
		}
		at := end + 1
		return func(d v1.Hash) ref.Edit { return ref.Edit{Start: at, End: at, Text: " " + d.String()} }, ""
	}
	return nil, "cannot find the value's place"
}
