package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// KindStepImage is the place Drone and Woodpecker name images.
const KindStepImage ref.Kind = "step image"

// Drone reads .drone.yml (every document): each step's and service's image:.
var Drone = newKind("drone", (*finder).steps)

// Woodpecker reads .woodpecker.yml and .woodpecker/*.yml: each step's,
// service's and clone plugin's image:, steps given as a list or a map.
var Woodpecker = newKind("woodpecker", (*finder).steps)

// steps: image: of each entry of steps, services, clone and (Woodpecker's
// older name) pipeline, each a list of steps or a map of name to step.
func (f *finder) steps(d *yaml.Node) {
	for _, key := range []string{"steps", "services", "clone", "pipeline"} {
		n := resolve(lookup(d, key))
		var steps []*yaml.Node
		switch {
		case n == nil:
		case n.Kind == yaml.SequenceNode:
			steps = n.Content
		case n.Kind == yaml.MappingNode:
			for _, kv := range entries(n) {
				steps = append(steps, kv[1])
			}
		}
		for _, s := range steps {
			f.scalar(lookup(s, "image"), KindStepImage, noScheme)
		}
	}
}
