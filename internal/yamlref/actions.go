package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// The place GitHub Actions files name images.
const KindActionsImage ref.Kind = "actions image"

// GitHubActions reads workflows and actions.
var GitHubActions = newKind(ref.GitHubActions, (*finder).actions)

// actions: jobs.*.container and jobs.*.services.* (a string or .image,
// "docker://" allowed as the runner allows it), steps[*].uses: docker://…,
// and an action's runs.image: docker://….
func (f *finder) actions(d *yaml.Node) {
	imageOf := func(n *yaml.Node) *yaml.Node {
		if n = resolve(n); n != nil && n.Kind == yaml.MappingNode {
			return lookup(n, "image")
		}
		return n
	}
	for _, job := range entries(lookup(d, "jobs")) {
		f.scalar(imageOf(lookup(job[1], "container")), KindActionsImage, dockerScheme)
		for _, svc := range entries(lookup(job[1], "services")) {
			f.scalar(imageOf(svc[1]), KindActionsImage, dockerScheme)
		}
		for _, step := range items(lookup(job[1], "steps")) {
			f.scalar(lookup(step, "uses"), KindActionsImage, dockerOnly)
		}
	}
	runs := lookup(d, "runs")
	f.scalar(lookup(runs, "image"), KindActionsImage, dockerOnly)
	for _, step := range items(lookup(runs, "steps")) {
		f.scalar(lookup(step, "uses"), KindActionsImage, dockerOnly)
	}
}
