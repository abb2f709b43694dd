package yamlref

import (
	"context"
	"regexp"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// The place Compose files name images.
const KindComposeImage ref.Kind = "services.*.image"

// Compose reads Compose files: services.*.image; a service that builds its
// image names what it builds and is left alone.
var Compose = newKind(ref.Compose, (*finder).compose)

// compose: services.*.image; a service that builds names the image built.
func (f *finder) compose(d *yaml.Node) {
	for _, kv := range entries(lookup(d, "services")) {
		svc := kv[1]
		img := resolve(lookup(svc, "image"))
		if img == nil {
			continue
		}
		if lookup(svc, "build") != nil {
			if img.Kind == yaml.ScalarNode && !f.seen[img] {
				f.seen[img] = true
				f.skipped = append(f.skipped, ref.Skipped{Kind: KindComposeImage, Line: img.Line, Text: img.Value,
					Reason: "service " + kv[0].Value + " builds this image (build:)"})
			}
			continue
		}
		if m := wholeVariable.FindStringSubmatch(img.Value); m != nil && !f.seen[img] {
			f.seen[img] = true
			f.skipped = append(f.skipped, ref.Skipped{Kind: KindComposeImage, Line: img.Line, Text: img.Value,
				Reason: "set by $" + m[1] + m[2] + ": pinned where the .env file beside it sets it"})
			continue
		}
		f.scalar(img, KindComposeImage, noScheme)
	}
}

// wholeVariable matches an image that is one variable: $KEY, ${KEY},
// ${KEY:-default}, ${KEY-default}, ${KEY:?error}, ${KEY?error}.
var wholeVariable = regexp.MustCompile(`^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:[:]?[-?][^}]*)?\})$`)

// ImageVariables returns the variables that are the whole image of a
// Compose file's services (image: ${KEY}), each with the services it
// names the image of: those the .env file beside it pins.
func ImageVariables(p string, src []byte) (map[string][]string, error) {
	docs, err := decode(context.Background(), p, src)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, d := range docs {
		for _, kv := range entries(lookup(d, "services")) {
			img := resolve(lookup(kv[1], "image"))
			if img == nil || img.Kind != yaml.ScalarNode || lookup(kv[1], "build") != nil {
				continue
			}
			if m := wholeVariable.FindStringSubmatch(img.Value); m != nil {
				key := m[1] + m[2]
				out[key] = append(out[key], kv[0].Value)
			}
		}
	}
	return out, nil
}
