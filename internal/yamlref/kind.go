package yamlref

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// Kind is one kind of YAML or JSON file: the walk that finds the
// references of each of its documents. It is a ref.Finder.
type Kind struct {
	name ref.FileKind
	walk func(f *finder, doc *yaml.Node)
}

// byName holds every Kind, as newKind makes them.
var byName = map[ref.FileKind]*Kind{}

// newKind makes a Kind and registers it for Find; each kind's file declares
// its own.
func newKind(name ref.FileKind, walk func(f *finder, doc *yaml.Node)) *Kind {
	k := &Kind{name: name, walk: walk}
	byName[name] = k
	return k
}

// FileKind is the kind's name, as --kind takes it.
func (k *Kind) FileKind() ref.FileKind { return k.name }

// Find returns the references of a file of this kind, what it leaves
// alone and why, or the file's parse error.
func (k *Kind) Find(ctx context.Context, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	if bytes.IndexByte(src, 0) >= 0 {
		return nil, nil, errors.New("binary file (contains NUL bytes)")
	}
	docs, err := decode(ctx, p, src)
	if err != nil {
		return nil, nil, err
	}
	f := &finder{s: newSource(src), seen: map[*yaml.Node]bool{}, walked: map[*yaml.Node]bool{}}
	for _, d := range docs {
		k.walk(f, d)
	}
	slices.SortStableFunc(f.found, func(a, b ref.Found) int { return a.Line - b.Line })
	return f.found, f.skipped, errors.Join(f.errs...)
}

// Kinds lists the kinds this package reads, sorted.
func Kinds() []ref.FileKind {
	out := make([]ref.FileKind, 0, len(byName))
	for k := range byName {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Find returns the image references of a file of kind, what it leaves
// alone and why, or the file's parse error. A file over MaxExpansion or
// MaxDepth is an error that names the limit.
func Find(kind ref.FileKind, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	return FindContext(context.Background(), kind, p, src)
}

// FindContext is Find that stops with ctx's error when ctx ends while the
// file is parsed (between documents, and while aliases are measured).
func FindContext(ctx context.Context, kind ref.FileKind, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	k, ok := byName[kind]
	if !ok {
		return nil, nil, fmt.Errorf("yamlref: unknown kind %q", kind)
	}
	return k.Find(ctx, p, src)
}
