package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// KindAzureImage is the place Azure Pipelines name images.
const KindAzureImage ref.Kind = "azure-pipelines container"

// AzurePipelines reads azure-pipelines*.yml: resources.containers[].image
// and each job's container: (a string or image:). A container: or a
// step's target: naming a resource's alias is pinned where the resource is.
var AzurePipelines = newKind("azure-pipelines", (*finder).azure)

func (f *finder) azure(d *yaml.Node) {
	aliases := map[string]bool{}
	for _, c := range items(lookup(lookup(d, "resources"), "containers")) {
		if a := resolve(lookup(c, "container")); a != nil && a.Kind == yaml.ScalarNode {
			aliases[a.Value] = true
		}
		f.scalar(lookup(c, "image"), KindAzureImage, noScheme)
	}
	f.visit(d, func(key string, v *yaml.Node) bool {
		switch key {
		case "resources", "target", "services": // images by alias only (services: name → alias)
			return false
		case "container":
			if v != nil && v.Kind == yaml.MappingNode {
				f.scalar(lookup(v, "image"), KindAzureImage, noScheme)
			} else if v != nil && v.Kind == yaml.ScalarNode && !aliases[v.Value] {
				f.scalar(v, KindAzureImage, noScheme)
			}
			return false
		}
		return true
	})
}
