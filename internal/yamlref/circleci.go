package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// The place CircleCI files name images.
const KindCircleCIImage ref.Kind = "circleci docker image"

// CircleCI reads .circleci/*.yml files.
var CircleCI = newKind(ref.CircleCI, (*finder).circleci)

// circleci: every docker: [ {image: …} ] executor, at any depth (jobs,
// executors, orb examples); machine images are VMs, not containers.
func (f *finder) circleci(n *yaml.Node) {
	f.visit(n, func(key string, v *yaml.Node) bool {
		if key != "docker" {
			return true
		}
		for _, c := range items(v) {
			f.scalar(lookup(c, "image"), KindCircleCIImage, dockerScheme)
		}
		return false
	})
}
