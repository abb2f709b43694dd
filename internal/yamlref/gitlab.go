package yamlref

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// The place GitLab CI files name images.
const KindGitLabImage ref.Kind = "gitlab-ci image"

// GitLabCI reads .gitlab-ci.yml files.
var GitLabCI = newKind(ref.GitLabCI, (*finder).gitlab)

// gitlabKeywords are GitLab CI's top-level keys that are not jobs.
var gitlabKeywords = map[string]bool{"default": false, "include": true, "stages": true, "variables": true, "workflow": true, "cache": true, "before_script": true, "after_script": true, "spec": true}

// gitlab: image and services (strings or .name) at the top level, under
// default: and in every job.
func (f *finder) gitlab(d *yaml.Node) {
	f.gitlabJob(d)
	for _, kv := range entries(d) {
		if gitlabKeywords[kv[0].Value] || kv[0].Value == "image" || kv[0].Value == "services" {
			continue
		}
		if v := resolve(kv[1]); v != nil && v.Kind == yaml.MappingNode {
			f.gitlabJob(v)
		}
	}
}

func (f *finder) gitlabJob(job *yaml.Node) {
	nameOf := func(n *yaml.Node) *yaml.Node {
		if n = resolve(n); n != nil && n.Kind == yaml.MappingNode {
			return lookup(n, "name")
		}
		return n
	}
	f.scalar(nameOf(lookup(job, "image")), KindGitLabImage, noScheme)
	for _, s := range items(lookup(job, "services")) {
		f.scalar(nameOf(s), KindGitLabImage, noScheme)
	}
}
