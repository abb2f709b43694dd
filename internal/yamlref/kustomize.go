package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.yaml.in/yaml/v3"
)

// The place Kustomize files name images.
const KindKustomizeImage ref.Kind = "kustomize images"

// Kustomize reads kustomization.yaml files.
var Kustomize = newKind(ref.Kustomize, (*finder).kustomize)

// kustomize: images: [{name, newName, newTag, digest}]; pinned by writing
// digest: (kustomize then ignores newTag).
func (f *finder) kustomize(d *yaml.Node) {
	for _, e := range items(lookup(d, "images")) {
		e = resolve(e)
		if e == nil || f.seen[e] {
			continue // one entry reached twice through aliases
		}
		f.seen[e] = true
		nameN, newName, newTag, digest := resolve(lookup(e, "name")), resolve(lookup(e, "newName")), resolve(lookup(e, "newTag")), resolve(lookup(e, "digest"))
		if nameN == nil {
			continue
		}
		repo := nameN.Value
		if !isNull(newName) {
			repo = newName.Value
		}
		line := nameN.Line
		skip := func(text, reason string) {
			f.skipped = append(f.skipped, ref.Skipped{Kind: KindKustomizeImage, Line: line, Text: text, Reason: reason})
		}
		text := repo
		if !isNull(newTag) {
			text += ":" + newTag.Value
		}
		if !isNull(digest) {
			text += "@" + digest.Value
		}
		if r := why(text); r != "" {
			skip(text, r)
			continue
		}
		if isNull(newTag) && isNull(digest) {
			skip(text, "no newTag: the tag comes from the resources")
			continue
		}
		img, err := ref.ParseImage(text)
		if err != nil {
			skip(text, "not an image reference")
			continue
		}
		pin, reason := f.digestField(e, digest)
		if reason != "" {
			skip(text, reason)
			continue
		}
		fd := ref.Found{Kind: KindKustomizeImage, Line: line, Text: text, Image: img,
			Pin: func(d v1.Hash) (ref.Edit, string) { return pin(d), img.Pin(d) }}
		if !isNull(newTag) {
			if retag, ok := f.tagValue(newTag); ok {
				fd.Retag = func(t string, d v1.Hash) ([]ref.Edit, string) {
					return []ref.Edit{retag(t), pin(d)}, img.Retagged(t, d)
				}
			}
		}
		f.found = append(f.found, fd)
	}
}
