package yamlref

import (
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.yaml.in/yaml/v3"
)

// The place Helm values name images.
const KindHelmImage ref.Kind = "helm image"

// Helm reads a chart's values files.
var Helm = newKind(ref.Helm, (*finder).helm)

// helm: image: fields of a chart's values, as one string or split into
// registry/repository/tag(/digest).
func (f *finder) helm(n *yaml.Node) {
	f.visit(n, func(key string, v *yaml.Node) bool {
		key = strings.ToLower(key)
		switch {
		case v == nil:
		case key == "image" && v.Kind == yaml.ScalarNode:
			f.scalar(v, KindHelmImage, noScheme)
			return false
		case strings.HasSuffix(key, "image") && v.Kind == yaml.MappingNode:
			if repo := splitRepository(v); repo != nil {
				f.helmSplit(v, repo)
				return false
			}
		}
		return true
	})
}

// splitRepository returns the repository field of a split image spec m:
// its repository:, or, in a mapping with image: and tag: but no
// repository: (ingress-nginx's registry/image/tag/digest), its image:.
// It returns nil when m is no split spec.
func splitRepository(m *yaml.Node) *yaml.Node {
	if repo := lookup(m, "repository"); repo != nil {
		return repo
	}
	img := resolve(lookup(m, "image"))
	if img != nil && img.Kind == yaml.ScalarNode && lookup(m, "tag") != nil {
		return img
	}
	return nil
}

// helmSplit pins an image given as registry/repository/tag(/digest), repo
// being its repository field: an existing digest: key gets the digest,
// else the tag becomes "tag@sha256:…"; a digest already set is a pin.
// ingress-nginx's digestChroot is the digest of another image (the
// chart's "<image>-chroot"), run instead when chroot: is true: never
// written, and with chroot: true the spec is left alone.
func (f *finder) helmSplit(m, repo *yaml.Node) {
	if f.seen[m] {
		return
	}
	f.seen[m] = true
	reg, tag, digest := resolve(lookup(m, "registry")), resolve(lookup(m, "tag")), resolve(lookup(m, "digest"))
	repo = resolve(repo)
	text := repo.Value
	if !isNull(reg) {
		text = reg.Value + "/" + text
	}
	line := repo.Line
	skip := func(reason string) {
		f.skipped = append(f.skipped, ref.Skipped{Kind: KindHelmImage, Line: line, Text: text, Reason: reason})
	}
	if isNull(tag) || tag.Kind != yaml.ScalarNode {
		skip("no tag (the chart's appVersion decides it)")
		return
	}
	text += ":" + tag.Value
	if !isNull(digest) {
		text += "@" + digest.Value
	}
	if r := why(text); r != "" {
		skip(r)
		return
	}
	if c := resolve(lookup(m, "chroot")); c != nil && strings.EqualFold(c.Value, "true") {
		skip("chroot: true runs the -chroot image, pinned by digestChroot: set it by hand")
		return
	}
	img, err := ref.ParseImage(text)
	if err != nil {
		skip("not an image reference")
		return
	}
	var pin func(v1.Hash) ref.Edit
	var reason string
	if digest != nil {
		pin, reason = f.digestField(m, digest)
	} else {
		pin, reason = f.helmTag(tag)
	}
	if reason != "" {
		skip(reason)
		return
	}
	fd := ref.Found{Kind: KindHelmImage, Line: line, Text: text, Image: img,
		Pin: func(d v1.Hash) (ref.Edit, string) { return pin(d), img.Pin(d) }}
	if retag, ok := f.tagValue(tag); ok {
		fd.Retag = func(t string, d v1.Hash) ([]ref.Edit, string) {
			if digest != nil {
				return []ref.Edit{retag(t), pin(d)}, img.Retagged(t, d)
			}
			return []ref.Edit{retag(t + "@" + d.String())}, img.Retagged(t, d)
		}
	}
	f.found = append(f.found, fd)
}

// tagValue rewrites a tag value (--bump): in its quotes, or quoted when it
// was plain, so that a tag such as 3.10 never becomes the number 3.1.
func (f *finder) tagValue(tag *yaml.Node) (func(string) ref.Edit, bool) {
	start, end, reason := f.s.span(tag)
	if reason != "" {
		return nil, false
	}
	quoted := tag.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	return func(v string) ref.Edit {
		if !quoted {
			v = `"` + v + `"`
		}
		return ref.Edit{Start: start, End: end, Text: v}
	}, true
}

// helmTag writes "tag@digest" into a tag value, quoted when it was not
// (a plain 1.2 would otherwise stop being a number only by accident).
func (f *finder) helmTag(tag *yaml.Node) (func(v1.Hash) ref.Edit, string) {
	start, end, reason := f.s.span(tag)
	if reason != "" {
		return nil, reason
	}
	base, _, _ := strings.Cut(tag.Value, "@")
	quoted := tag.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	return func(d v1.Hash) ref.Edit {
		if quoted {
			return ref.Edit{Start: start, End: end, Text: base + "@" + d.String()}
		}
		return ref.Edit{Start: start, End: end, Text: `"` + base + "@" + d.String() + `"`}
	}, ""
}
