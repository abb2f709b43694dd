package yamlref

import (
	"path"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// KindBuildkiteImage is the place Buildkite pipelines name images.
const KindBuildkiteImage ref.Kind = "buildkite plugin image"

// Buildkite reads .buildkite/pipeline*.yml: the image: of the docker and
// docker-compose plugins, in every step (group steps too).
var Buildkite = newKind("buildkite", (*finder).buildkite)

func (f *finder) buildkite(d *yaml.Node) {
	f.visit(d, func(key string, v *yaml.Node) bool {
		if key != "plugins" {
			return true
		}
		var plugins [][2]*yaml.Node // a list of one-entry maps, or one map
		if v != nil && v.Kind == yaml.MappingNode {
			plugins = entries(v)
		}
		for _, p := range items(v) {
			plugins = append(plugins, entries(p)...)
		}
		for _, p := range plugins {
			if isDockerPlugin(p[0].Value) {
				f.scalar(lookup(p[1], "image"), KindBuildkiteImage, noScheme)
			}
		}
		return false
	})
}

// isDockerPlugin reports the docker and docker-compose plugins, however
// named: "docker#v5.12.0", "docker-compose", "buildkite-plugins/docker-buildkite-plugin#v5".
func isDockerPlugin(name string) bool {
	name, _, _ = strings.Cut(name, "#")
	name = strings.TrimSuffix(path.Base(name), "-buildkite-plugin")
	return name == "docker" || name == "docker-compose"
}
