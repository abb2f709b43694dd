package yamlref

import (
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"go.yaml.in/yaml/v3"
)

// KindAnsibleImage is the place Ansible tasks name images.
const KindAnsibleImage ref.Kind = "ansible task image"

// Ansible reads playbooks and roles' tasks: image: of docker_container and
// podman_container, name: of docker_image, and the containers of the
// Kubernetes definition: of k8s tasks, by short or collection name, in
// blocks and handlers too.
var Ansible = newKind("ansible", (*finder).ansible)

func (f *finder) ansible(d *yaml.Node) {
	f.visit(d, func(key string, v *yaml.Node) bool {
		if v == nil || v.Kind != yaml.MappingNode {
			return true
		}
		switch module(key) {
		case "docker_container", "podman_container":
			f.scalar(lookup(v, "image"), KindAnsibleImage, noScheme)
		case "docker_image", "docker_image_pull", "podman_image":
			f.ansibleImage(v)
		case "k8s":
			f.containers(lookup(v, "definition"), KindAnsibleImage)
		default:
			return true
		}
		return false
	})
}

// module is a task's module without its collection
// ("community.docker.docker_container" is docker_container).
func module(key string) string {
	for _, c := range []string{"community.docker.", "containers.podman.", "kubernetes.core.", "community.kubernetes."} {
		key = strings.TrimPrefix(key, c)
	}
	return key
}

// ansibleImage: docker_image's name:, unless the image is built here or
// its tag is given apart.
func (f *finder) ansibleImage(v *yaml.Node) {
	n := resolve(lookup(v, "name"))
	if n == nil || n.Kind != yaml.ScalarNode {
		return
	}
	skip := func(reason string) {
		f.seen[n] = true
		f.skipped = append(f.skipped, ref.Skipped{Kind: KindAnsibleImage, Line: n.Line, Text: n.Value, Reason: reason})
	}
	switch src := resolve(lookup(v, "source")); {
	case f.seen[n]:
	case src != nil && src.Value == "build" || lookup(v, "build") != nil && src == nil:
		skip("the task builds this image")
	case lookup(v, "tag") != nil:
		skip("tag: given apart: write name: repo:tag to pin it")
	default:
		f.scalar(n, KindAnsibleImage, noScheme)
	}
}
