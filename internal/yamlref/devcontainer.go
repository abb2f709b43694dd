package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// The place dev container files name images.
const KindDevContainer ref.Kind = "devcontainer image"

// DevContainer reads devcontainer.json files (JSON with comments): image.
var DevContainer = newKind(ref.DevContainer, func(f *finder, d *yaml.Node) {
	f.scalar(lookup(d, "image"), KindDevContainer, noScheme)
})
