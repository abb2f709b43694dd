package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// KindCloudBuildStep is the place Google Cloud Build files name images.
const KindCloudBuildStep ref.Kind = "cloudbuild step"

// CloudBuild reads cloudbuild*.yaml and .json: each step's name: (the
// builder image). images: names what the build pushes: never read.
var CloudBuild = newKind("cloudbuild", func(f *finder, d *yaml.Node) {
	for _, s := range items(lookup(d, "steps")) {
		f.scalar(lookup(s, "name"), KindCloudBuildStep, noScheme)
	}
})
