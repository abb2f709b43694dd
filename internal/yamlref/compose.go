package yamlref

import (
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
		f.scalar(img, KindComposeImage, noScheme)
	}
}
