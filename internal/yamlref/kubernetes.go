package yamlref

import (
	"bytes"
	"context"
	"errors"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// The place Kubernetes manifests (and the CRDs that embed pod specs) name images.
const KindContainerImage ref.Kind = "container image"

// Kubernetes reads manifests: the image of every container at any depth of
// a document with apiVersion and kind.
var Kubernetes = newKind(ref.Kubernetes, func(f *finder, d *yaml.Node) {
	if isKubernetes(d) {
		f.containers(d, KindContainerImage)
	}
})

// Sniff reads a YAML or JSON file of no telling name: Kubernetes when a
// document has apiVersion and kind. A file over the limits (MaxExpansion,
// MaxDepth) is taken as Kubernetes too, so that Find says why it is
// refused instead of it being skipped in silence.
func Sniff(p string, src []byte) (ref.FileKind, bool) {
	if !bytes.Contains(src, []byte("apiVersion")) || !bytes.Contains(src, []byte("kind")) {
		return "", false // cheap: most YAML files of a big repository end here
	}
	docs, err := decode(context.Background(), p, src)
	var le *limitError
	if errors.As(err, &le) {
		return ref.Kubernetes, true
	}
	if err != nil {
		return "", false
	}
	for _, d := range docs {
		if isKubernetes(d) {
			return ref.Kubernetes, true
		}
	}
	return "", false
}

func isKubernetes(d *yaml.Node) bool {
	return d.Kind == yaml.MappingNode && lookup(d, "apiVersion") != nil && lookup(d, "kind") != nil
}

// containerKeys name the places Kubernetes and the CRDs that embed pod
// specs (Tekton, Argo Workflows, Knative) keep containers: a sequence of
// containers or a single one.
var containerKeys = map[string]bool{
	"containers": true, "initContainers": true, "ephemeralContainers": true, // Pod specs
	"steps": true, "sidecars": true, "stepTemplate": true, // Tekton
	"container": true, "script": true, // Argo Workflows templates
}

// containers finds every container's image under n, at any depth.
func (f *finder) containers(n *yaml.Node, kind ref.Kind) {
	f.visit(n, func(key string, v *yaml.Node) bool {
		if containerKeys[key] {
			if v != nil && v.Kind == yaml.MappingNode {
				f.scalar(lookup(v, "image"), kind, noScheme)
			}
			for _, c := range items(v) {
				f.scalar(lookup(c, "image"), kind, noScheme)
			}
		}
		return true
	})
}
