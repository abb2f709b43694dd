package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// KindBitbucketImage is the place Bitbucket Pipelines name images.
const KindBitbucketImage ref.Kind = "bitbucket image"

// Bitbucket reads bitbucket-pipelines.yml: the global image:, each step's
// image: and definitions.services.*.image, as a string or a mapping's name:.
var Bitbucket = newKind("bitbucket", (*finder).bitbucket)

// bitbucket: every image: at any depth (in Bitbucket Pipelines the key
// names nothing else).
func (f *finder) bitbucket(d *yaml.Node) {
	f.visit(d, func(key string, v *yaml.Node) bool {
		if key != "image" {
			return true
		}
		f.scalar(nameOf(v), KindBitbucketImage, noScheme)
		return false
	})
}

// nameOf is an image given as a string or as a mapping's name:.
func nameOf(n *yaml.Node) *yaml.Node {
	if n = resolve(n); n != nil && n.Kind == yaml.MappingNode {
		return lookup(n, "name")
	}
	return n
}
