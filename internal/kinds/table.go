package kinds

import (
	"github.com/docker-cghistory/docker-cghistory/internal/dockerfile"
	"github.com/docker-cghistory/docker-cghistory/internal/hclref"
	"github.com/docker-cghistory/docker-cghistory/internal/lineref"
	"github.com/docker-cghistory/docker-cghistory/internal/yamlref"
)

// Table lists every kind, in the order users read them (the README's
// table). A file's path is tried against each row in this order.
var Table = []*Kind{
	{
		Finder: dockerfile.Finder,
		Globs:  []string{"Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile"},
		Match:  dockerfile.IsName,
		Pinned: "`FROM`, `COPY --from`, `RUN --mount from=`, global `ARG` defaults used by `FROM`, and the `# syntax=` frontend image",
	},
	{
		Finder:    yamlref.Compose,
		Globs:     []string{"compose.yml", "compose.yaml", "compose.*.yml", "compose.*.yaml", "docker-compose*.yml", "docker-compose*.yaml"},
		Pinned:    "`services.*.image`",
		LeftAlone: "a service with `build:` names the image it builds: left alone, and said so",
	},
	{
		Finder: yamlref.Kubernetes,
		Globs:  []string{"*.yaml", "*.yml", "*.json"},
		Sniff:  func(p string, src []byte) bool { _, ok := yamlref.Sniff(p, src); return ok },
		Pinned: "any YAML or JSON document with `apiVersion` and `kind` (multi-document, `List`): the `image` of every container at any depth: `containers`, `initContainers`, `ephemeralContainers` in any pod template (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod, …), Tekton `steps`/`sidecars`/`stepTemplate`, Argo `container`/`script`, Knative services",
	},
	{
		Finder:    yamlref.Kustomize,
		Globs:     []string{"kustomization.yaml", "kustomization.yml"},
		Pinned:    "`images:` entries: pinned by writing `digest:` (the image is `newName` or `name`, at `newTag`)",
		LeftAlone: "entries without `newTag`",
	},
	{
		Finder:    yamlref.Helm,
		Globs:     []string{"values*.yaml", "values*.yml"},
		Except:    []string{"templates/*"},
		Beside:    []string{"Chart.yaml"},
		Pinned:    "`image: repo:tag`, and `image:` (or `*Image:`) mappings of `registry`/`repository`/`tag` (or ingress-nginx's `registry`/`image`/`tag`): an existing `digest:` key is filled, else the tag becomes `\"1.2@sha256:…\"`",
		LeftAlone: "images without a tag; ingress-nginx's `digestChroot:` and specs with `chroot: true`; chart templates are never read",
	},
	{
		Finder: yamlref.GitHubActions,
		Globs:  []string{".github/workflows/*.yml", ".github/workflows/*.yaml", "action.yml", "action.yaml"},
		Pinned: "`jobs.*.container` and `jobs.*.services.*` (a string or `.image`, with or without `docker://`), `steps[*].uses: docker://…`, `runs.image: docker://…`; a `docker://` prefix is kept",
	},
	{
		Finder: yamlref.GitLabCI,
		Globs:  []string{".gitlab-ci.yml", "*.gitlab-ci.yml", "*.gitlab-ci.yaml"},
		Pinned: "`image` and `services` (a string or `name:`), at the top, under `default:` and in every job",
	},
	{
		Finder:    yamlref.CircleCI,
		Globs:     []string{".circleci/*.yml", ".circleci/*.yaml"},
		Pinned:    "`docker: [{image: …}]`, with or without `docker://`",
		LeftAlone: "machine images (VMs)",
	},
	{
		Finder: yamlref.DevContainer,
		Globs:  []string{".devcontainer.json", ".devcontainer/devcontainer.json", ".devcontainer/*/devcontainer.json"},
		Pinned: "`image` (JSON with comments and trailing commas)",
	},
	{
		Finder: yamlref.Bitbucket,
		Globs:  []string{"bitbucket-pipelines.yml", "bitbucket-pipelines.yaml"},
		Pinned: "the global `image:`, each step's `image:` and `definitions.services.*.image` (a string or `name:`)",
	},
	{
		Finder:    yamlref.AzurePipelines,
		Globs:     []string{"azure-pipelines*.yml", "azure-pipelines*.yaml", ".azure-pipelines/**/*.yml", ".azure-pipelines/**/*.yaml"},
		Pinned:    "`resources.containers[].image` and each job's `container:` (a string or `image:`)",
		LeftAlone: "a `container:`, `target:` or `services:` naming a resource's alias: pinned where the resource is",
	},
	{
		Finder: yamlref.Drone,
		Globs:  []string{".drone.yml", ".drone.yaml"},
		Pinned: "each step's and service's `image:`, in every document",
	},
	{
		Finder: yamlref.Woodpecker,
		Globs:  []string{".woodpecker.yml", ".woodpecker.yaml", ".woodpecker/*.yml", ".woodpecker/*.yaml"},
		Pinned: "each step's, service's and clone plugin's `image:` (steps as a list or a map)",
	},
	{
		Finder:    yamlref.Buildkite,
		Globs:     []string{".buildkite/pipeline*.yml", ".buildkite/pipeline*.yaml"},
		Pinned:    "the `image:` of the docker and docker-compose plugins, in every step and group",
		LeftAlone: "other plugins' settings",
	},
	{
		Finder:    yamlref.CloudBuild,
		Globs:     []string{"cloudbuild*.yaml", "cloudbuild*.yml", "cloudbuild*.json"},
		Pinned:    "each step's `name:` (its builder image)",
		LeftAlone: "`images:` (what the build pushes)",
	},
	{
		Finder:    yamlref.Ko,
		Globs:     []string{".ko.yaml", ".ko.yml"},
		Pinned:    "`defaultBaseImage` and the values of `baseImageOverrides`",
		LeftAlone: "`ko://` build paths",
	},
	{
		Finder:    hclref.Bake,
		Globs:     []string{"docker-bake.hcl", "docker-bake.override.hcl", "docker-bake.json", "docker-bake.override.json"},
		Pinned:    "string defaults of `variable` blocks that are image references, and `contexts` values `docker-image://REF` (HCL or JSON)",
		LeftAlone: "`tags` (what the build pushes), other defaults (versions, platforms, `host:port`), interpolations",
	},
	{
		Finder:    hclref.Terraform,
		Globs:     []string{"*.tf"},
		Pinned:    "`image` of `docker_container`, `name` of `docker_image`, `image` in `kubernetes_*` `container`/`init_container` blocks and in `kubernetes_manifest`, `image` in `aws_ecs_task_definition`'s `container_definitions` as `jsonencode(…)` or a literal heredoc of JSON (`<<EOF`, `<<-EOF`)",
		LeftAlone: "expressions and interpolations (`docker_image.x.image_id`, `${var.…}`), `container_definitions` as a quoted string or a heredoc with interpolation",
	},
	{
		Finder:    hclref.Nomad,
		Globs:     []string{"*.nomad", "*.nomad.hcl"},
		Pinned:    "`config { image = \"…\" }` of tasks of the `docker` and `podman` drivers",
		LeftAlone: "other drivers, interpolations and template directives",
	},
	{
		Finder:    yamlref.Ansible,
		Globs:     []string{"tasks/*.yml", "tasks/*.yaml", "handlers/*.yml", "handlers/*.yaml", "playbook*.yml", "playbook*.yaml", "playbooks/*.yml", "playbooks/*.yaml", "site.yml", "site.yaml"},
		Pinned:    "`image:` of `docker_container` and `podman_container` tasks, `name:` of `docker_image`, and the containers of `k8s` tasks' `definition:` (short or collection names, in blocks and handlers)",
		LeftAlone: "`docker_image` tasks that build, or give `tag:` apart; Jinja templates",
	},
	{
		Finder:    lineref.Quadlet,
		Globs:     []string{"*.container", "*.image", "*.volume", "*.build"},
		Pinned:    "`Image=` lines of Podman Quadlet units",
		LeftAlone: "an `Image=` naming another unit (`app.image`, `app.build`: pinned there), systemd specifiers (`%i`)",
	},
	{
		Finder:    lineref.Env,
		Globs:     []string{".env"},
		Beside:    lineref.ComposeFiles,
		Pinned:    "`KEY=REF` lines (`export`, quotes allowed) whose `KEY` is a Compose service's whole `image: ${KEY}`: pinned here, where the value lives; the change names the services",
		LeftAlone: "every other line",
	},
	{
		Finder:    lineref.Annotated,
		Globs:     annotatedGlobs,
		Sniff:     func(_ string, src []byte) bool { return lineref.HasMarker(src) },
		Pinned:    "in any text file, the one reference on a line marked by the comment `cgpin: image` (`#`, `//`, `--` or `;`) at its end or alone on the line above",
		LeftAlone: "everything unmarked; a marked line with no reference, or more than one, is a warning naming the line",
	},
}

// annotatedGlobs are the text files read for "cgpin: image" markers.
var annotatedGlobs = []string{
	"Makefile", "GNUmakefile", "makefile", "*.mk", "*.sh", "*.bash", "*.zsh", "Jenkinsfile", "*.jenkinsfile", "*.groovy",
	"Earthfile", "Justfile", "justfile", "Taskfile", "*.go", "*.ts", "*.js", "*.mjs", "*.py", "*.rb", "*.java", "*.kt",
	"*.rs", "*.toml", "*.ini", "*.cfg", "*.conf", "*.env", ".env", "*.env.*", ".env.*", "*.sql", "*.lua", "*.txt",
}
