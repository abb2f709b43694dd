package yamlref

import (
	"context"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// Places in Docker Bake files.
const (
	KindBakeVariable ref.Kind = "bake variable default"
	KindBakeContext  ref.Kind = "bake context"
)

// bakeJSON is the JSON form of Docker Bake files; the kind docker-bake
// (internal/hclref) reads it with FindBakeJSON.
var bakeJSON = &Kind{name: "docker-bake", walk: (*finder).bake}

// FindBakeJSON finds the references of a docker-bake.json file: string
// defaults of variables that are image references, and contexts values
// docker-image://REF; never tags.
func FindBakeJSON(ctx context.Context, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	return bakeJSON.Find(ctx, p, src)
}

func (f *finder) bake(d *yaml.Node) {
	for _, v := range entries(lookup(d, "variable")) {
		def := resolve(lookup(v[1], "default"))
		if def != nil && def.Kind == yaml.ScalarNode && ref.LooksLikeImage(def.Value) {
			f.scalar(def, KindBakeVariable, noScheme)
		}
	}
	const scheme = "docker-image://"
	for _, t := range entries(lookup(d, "target")) {
		for _, c := range entries(lookup(t[1], "contexts")) {
			n := resolve(c[1])
			if n == nil || n.Kind != yaml.ScalarNode || !strings.HasPrefix(n.Value, scheme) || f.seen[n] {
				continue
			}
			f.seen[n] = true
			start, end, reason := f.s.span(n)
			if reason != "" {
				f.skipped = append(f.skipped, ref.Skipped{Kind: KindBakeContext, Line: n.Line, Text: n.Value, Reason: reason})
				continue
			}
			start += len(scheme)
			fd, err := ref.Parse(KindBakeContext, n.Line, start, string(f.s.src[start:end]))
			if err != nil {
				f.skipped = append(f.skipped, ref.Skipped{Kind: KindBakeContext, Line: n.Line, Text: n.Value, Reason: "not an image reference"})
				continue
			}
			f.found = append(f.found, fd)
		}
	}
}
