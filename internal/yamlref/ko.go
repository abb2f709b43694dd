package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// KindKoBase is the place ko's configuration names base images.
const KindKoBase ref.Kind = "ko base image"

// Ko reads .ko.yaml: defaultBaseImage and the values of baseImageOverrides.
var Ko = newKind("ko", func(f *finder, d *yaml.Node) {
	f.scalar(lookup(d, "defaultBaseImage"), KindKoBase, noScheme)
	for _, kv := range entries(lookup(d, "baseImageOverrides")) {
		f.scalar(kv[1], KindKoBase, noScheme)
	}
})
