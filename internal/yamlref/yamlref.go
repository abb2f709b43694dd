// Package yamlref finds the image references in YAML and JSON files of the
// kinds that name images — Compose, Kubernetes (and CRDs that carry
// containers), Kustomize, Helm values, GitHub Actions, GitLab CI, CircleCI
// and dev containers — with go.yaml.in/yaml/v3, and says how to pin each in
// place: only the reference's bytes change, so quotes, flow style,
// comments, anchors, CRLF and BOM stay as written.
package yamlref

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.yaml.in/yaml/v3"
)

// Places in YAML files, as changes and notes name them.
const (
	KindComposeImage   ref.Kind = "services.*.image"
	KindContainerImage ref.Kind = "container image"
	KindKustomizeImage ref.Kind = "kustomize images"
	KindHelmImage      ref.Kind = "helm image"
	KindActionsImage   ref.Kind = "actions image"
	KindGitLabImage    ref.Kind = "gitlab-ci image"
	KindCircleCIImage  ref.Kind = "circleci docker image"
	KindDevContainer   ref.Kind = "devcontainer image"
)

// KindOf says which kind a file is by its path (slash-separated, as found
// by a directory walk): Compose, Kustomize, GitHub Actions, GitLab CI,
// CircleCI, dev container or Helm values (values*.yaml; the caller checks
// that a Chart.yaml is beside it). Kubernetes manifests have no telling
// name: see Sniff.
func KindOf(p string) (ref.FileKind, bool) {
	base := path.Base(p)
	dir := path.Base(path.Dir(p))
	lower := strings.ToLower(base)
	isYAML := strings.HasSuffix(lower, ".yml") || strings.HasSuffix(lower, ".yaml")
	switch {
	case isYAML && (strings.HasPrefix(lower, "docker-compose") || lower == "compose.yml" || lower == "compose.yaml" || strings.HasPrefix(lower, "compose.")):
		return ref.Compose, true
	case lower == "kustomization.yaml" || lower == "kustomization.yml":
		return ref.Kustomize, true
	case isYAML && dir == "workflows" && path.Base(path.Dir(path.Dir(p))) == ".github":
		return ref.GitHubActions, true
	case lower == "action.yml" || lower == "action.yaml":
		return ref.GitHubActions, true
	case lower == ".gitlab-ci.yml" || strings.HasSuffix(lower, ".gitlab-ci.yml") || strings.HasSuffix(lower, ".gitlab-ci.yaml"):
		return ref.GitLabCI, true
	case isYAML && dir == ".circleci":
		return ref.CircleCI, true
	case lower == ".devcontainer.json" || (lower == "devcontainer.json" && (dir == ".devcontainer" || path.Base(path.Dir(path.Dir(p))) == ".devcontainer")):
		return ref.DevContainer, true
	case isYAML && strings.HasPrefix(lower, "values") && path.Base(path.Dir(p)) != "templates":
		return ref.Helm, true
	}
	return "", false
}

// Sniff reads a YAML or JSON file of no telling name: Kubernetes when a
// document has apiVersion and kind. A file over the limits (MaxExpansion,
// MaxDepth) is taken as Kubernetes too, so that Find says why it is
// refused instead of it being skipped in silence.
func Sniff(p string, src []byte) (ref.FileKind, bool) {
	if !bytes.Contains(src, []byte("apiVersion")) || !bytes.Contains(src, []byte("kind")) {
		return "", false // cheap: most YAML files of a big repository end here
	}
	docs, err := decode(context.Background(), p, src)
	var le *limitError
	if errors.As(err, &le) {
		return ref.Kubernetes, true
	}
	if err != nil {
		return "", false
	}
	for _, d := range docs {
		if isKubernetes(d) {
			return ref.Kubernetes, true
		}
	}
	return "", false
}

// Find returns the image references of a file of kind, what it leaves
// alone and why, or the file's parse error. A file over MaxExpansion or
// MaxDepth is an error that names the limit.
func Find(kind ref.FileKind, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	return FindContext(context.Background(), kind, p, src)
}

// FindContext is Find that stops with ctx's error when ctx ends while the
// file is parsed (between documents, and while aliases are measured).
func FindContext(ctx context.Context, kind ref.FileKind, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	if bytes.IndexByte(src, 0) >= 0 {
		return nil, nil, errors.New("binary file (contains NUL bytes)")
	}
	docs, err := decode(ctx, p, src)
	if err != nil {
		return nil, nil, err
	}
	f := &finder{s: newSource(src), seen: map[*yaml.Node]bool{}, walked: map[*yaml.Node]bool{}}
	for _, d := range docs {
		switch kind {
		case ref.Compose:
			f.compose(d)
		case ref.Kubernetes:
			if isKubernetes(d) {
				f.containers(d, KindContainerImage)
			}
		case ref.Kustomize:
			f.kustomize(d)
		case ref.Helm:
			f.helm(d)
		case ref.GitHubActions:
			f.actions(d)
		case ref.GitLabCI:
			f.gitlab(d)
		case ref.CircleCI:
			f.circleci(d)
		case ref.DevContainer:
			f.scalar(lookup(d, "image"), KindDevContainer, noScheme)
		default:
			return nil, nil, fmt.Errorf("yamlref: unknown kind %q", kind)
		}
	}
	slices.SortStableFunc(f.found, func(a, b ref.Found) int { return a.Line - b.Line })
	return f.found, f.skipped, errors.Join(f.errs...)
}

// decode reads every document of a YAML stream (JSON files normalised
// first), as mapping nodes' roots, and refuses a stream over the limits.
func decode(ctx context.Context, p string, src []byte) ([]*yaml.Node, error) {
	if strings.HasSuffix(strings.ToLower(p), ".json") {
		src = normaliseJSON(src)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	m := &measure{ctx: ctx, size: map[*yaml.Node]int{}}
	var docs []*yaml.Node
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot parse YAML: %w", err)
		}
		if _, err := m.node(&n, 0); err != nil {
			return nil, err
		}
		if len(n.Content) > 0 {
			docs = append(docs, n.Content[0])
		}
	}
}

// isNull reports an absent value: no node, "", null or ~.
func isNull(n *yaml.Node) bool { return n == nil || n.Tag == "!!null" || n.Value == "" }

func isKubernetes(d *yaml.Node) bool {
	return d.Kind == yaml.MappingNode && lookup(d, "apiVersion") != nil && lookup(d, "kind") != nil
}

// finder collects the references of one file.
type finder struct {
	s       *source
	seen    map[*yaml.Node]bool // scalars already taken (anchors shared by aliases)
	walked  map[*yaml.Node]bool // collections already walked (aliases, cycles)
	deep    bool                // visit went past MaxDepth
	found   []ref.Found
	skipped []ref.Skipped
	errs    []error
}

// resolve follows an alias to its anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// maxMerge bounds how deep merge keys are followed (a merge cycle or a
// "billion laughs" of aliases ends there).
const maxMerge = 16

// lookup returns the value of key in mapping m, following merge keys
// ("<<: *base") as YAML does: the mapping's own keys win.
func lookup(m *yaml.Node, key string) *yaml.Node { return lookupDepth(m, key, 0) }

func lookupDepth(m *yaml.Node, key string, depth int) *yaml.Node {
	m = resolve(m)
	if depth > maxMerge {
		return nil
	}
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Value == key && k.Tag != "!!merge":
			return v
		case k.Value == "<<" || k.Tag == "!!merge":
			if v = resolve(v); v != nil && v.Kind == yaml.SequenceNode {
				merged = append(merged, v.Content...)
			} else if v != nil {
				merged = append(merged, v)
			}
		}
	}
	for _, mm := range merged {
		if v := lookupDepth(mm, key, depth+1); v != nil {
			return v
		}
	}
	return nil
}

// entries lists a mapping's key/value pairs, merged ones included (own
// keys first, merged keys the mapping does not set after).
func entries(m *yaml.Node) [][2]*yaml.Node { return entriesDepth(m, 0) }

func entriesDepth(m *yaml.Node, depth int) [][2]*yaml.Node {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode || depth > maxMerge {
		return nil
	}
	var out [][2]*yaml.Node
	own := map[string]bool{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value == "<<" || k.Tag == "!!merge" {
			if v = resolve(v); v != nil && v.Kind == yaml.SequenceNode {
				merged = append(merged, v.Content...)
			} else if v != nil {
				merged = append(merged, v)
			}
			continue
		}
		own[k.Value] = true
		out = append(out, [2]*yaml.Node{k, v})
	}
	for _, mm := range merged {
		for _, kv := range entriesDepth(mm, depth+1) {
			if !own[kv[0].Value] {
				own[kv[0].Value] = true
				out = append(out, kv)
			}
		}
	}
	return out
}

func items(n *yaml.Node) []*yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

var (
	variable = regexp.MustCompile(`\$[A-Za-z_{(]`)
	// unpinnable says why a value cannot be a literal reference.
	unpinnable = []struct{ marker, reason string }{
		{"${{", "GitHub Actions expression"},
		{"{{", "template expression"},
		{"<<", "pipeline parameter"},
		{"ko://", "ko build path"},
	}
)

// why says why value is not a literal image reference, or "".
func why(value string) string {
	for _, u := range unpinnable {
		if strings.Contains(value, u.marker) {
			return u.reason
		}
	}
	if variable.MatchString(value) {
		return "contains unresolved variables"
	}
	return ""
}

// scheme says whether ref.DockerScheme ("docker://") may or must come
// before a reference: GitHub Actions' runner strips it wherever it reads
// an image.
type scheme int

const (
	noScheme     scheme = iota // the value is the reference (Compose, Kubernetes, …)
	dockerScheme               // "docker://" may come first (Actions' container and services, CircleCI)
	dockerOnly                 // only "docker://…" is an image (steps' uses, runs.image)
)

// scalar takes n (an image field's value) as a reference, after a
// "docker://" prefix where sc allows one; the prefix stays in the file.
// Values that are not plain references are left alone with their reason.
func (f *finder) scalar(n *yaml.Node, kind ref.Kind, sc scheme) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || f.seen[n] {
		return
	}
	f.seen[n] = true
	value := n.Value
	if isNull(n) {
		return
	}
	skip := func(reason string) {
		f.skipped = append(f.skipped, ref.Skipped{Kind: kind, Line: n.Line, Text: value, Reason: reason})
	}
	if r := why(value); r != "" {
		skip(r)
		return
	}
	prefix := 0
	if sc != noScheme {
		v, ok := ref.CutDockerScheme(value)
		if !ok && sc == dockerOnly {
			return // not an image (a path to build, an action)
		}
		prefix = len(value) - len(v)
	}
	start, end, reason := f.s.span(n)
	if reason != "" {
		skip(reason)
		return
	}
	start += prefix
	fd, err := ref.Parse(kind, n.Line, start, string(f.s.src[start:end]))
	if err != nil {
		skip("not an image reference")
		return
	}
	f.found = append(f.found, fd)
}

// compose: services.*.image; a service that builds names the image built.
func (f *finder) compose(d *yaml.Node) {
	for _, kv := range entries(lookup(d, "services")) {
		svc := kv[1]
		img := resolve(lookup(svc, "image"))
		if img == nil {
			continue
		}
		if lookup(svc, "build") != nil {
			if img.Kind == yaml.ScalarNode && !f.seen[img] {
				f.seen[img] = true
				f.skipped = append(f.skipped, ref.Skipped{Kind: KindComposeImage, Line: img.Line, Text: img.Value,
					Reason: "service " + kv[0].Value + " builds this image (build:)"})
			}
			continue
		}
		f.scalar(img, KindComposeImage, noScheme)
	}
}

// containerKeys name the places Kubernetes and the CRDs that embed pod
// specs (Tekton, Argo Workflows, Knative) keep containers: a sequence of
// containers or a single one.
var containerKeys = map[string]bool{
	"containers": true, "initContainers": true, "ephemeralContainers": true, // Pod specs
	"steps": true, "sidecars": true, "stepTemplate": true, // Tekton
	"container": true, "script": true, // Argo Workflows templates
}

// walk reports whether collection n is to be walked: once, however many
// aliases lead to it.
func (f *finder) walk(n *yaml.Node) bool {
	if n == nil || f.walked[n] {
		return false
	}
	f.walked[n] = true
	return true
}

// visit walks every mapping entry under n, at any depth (each collection
// once, however many aliases lead to it); fn returns whether to go on
// below the entry's value.
func (f *finder) visit(n *yaml.Node, fn func(key string, v *yaml.Node) bool) {
	f.visitDepth(n, fn, 0)
}

func (f *finder) visitDepth(n *yaml.Node, fn func(key string, v *yaml.Node) bool, depth int) {
	n = resolve(n)
	if !f.walk(n) || f.deep {
		return
	}
	if depth++; depth > MaxDepth { // aliases can nest anchors deeper than the file
		f.deep = true
		f.errs = append(f.errs, &limitError{fmt.Sprintf("line %d: the file nests deeper than %d levels through aliases", n.Line, MaxDepth)})
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			f.visitDepth(c, fn, depth)
		}
	case yaml.MappingNode:
		for _, kv := range entries(n) {
			if fn(kv[0].Value, resolve(kv[1])) {
				f.visitDepth(kv[1], fn, depth)
			}
		}
	}
}

// containers finds every container's image under n, at any depth.
func (f *finder) containers(n *yaml.Node, kind ref.Kind) {
	f.visit(n, func(key string, v *yaml.Node) bool {
		if containerKeys[key] {
			if v != nil && v.Kind == yaml.MappingNode {
				f.scalar(lookup(v, "image"), kind, noScheme)
			}
			for _, c := range items(v) {
				f.scalar(lookup(c, "image"), kind, noScheme)
			}
		}
		return true
	})
}

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

// kustomize: images: [{name, newName, newTag, digest}]; pinned by writing
// digest: (kustomize then ignores newTag).
func (f *finder) kustomize(d *yaml.Node) {
	for _, e := range items(lookup(d, "images")) {
		e = resolve(e)
		if e == nil || f.seen[e] {
			continue // one entry reached twice through aliases
		}
		f.seen[e] = true
		nameN, newName, newTag, digest := resolve(lookup(e, "name")), resolve(lookup(e, "newName")), resolve(lookup(e, "newTag")), resolve(lookup(e, "digest"))
		if nameN == nil {
			continue
		}
		repo := nameN.Value
		if !isNull(newName) {
			repo = newName.Value
		}
		line := nameN.Line
		skip := func(text, reason string) {
			f.skipped = append(f.skipped, ref.Skipped{Kind: KindKustomizeImage, Line: line, Text: text, Reason: reason})
		}
		text := repo
		if !isNull(newTag) {
			text += ":" + newTag.Value
		}
		if !isNull(digest) {
			text += "@" + digest.Value
		}
		if r := why(text); r != "" {
			skip(text, r)
			continue
		}
		if isNull(newTag) && isNull(digest) {
			skip(text, "no newTag: the tag comes from the resources")
			continue
		}
		img, err := ref.ParseImage(text)
		if err != nil {
			skip(text, "not an image reference")
			continue
		}
		pin, reason := f.digestField(e, digest)
		if reason != "" {
			skip(text, reason)
			continue
		}
		f.found = append(f.found, ref.Found{Kind: KindKustomizeImage, Line: line, Text: text, Image: img,
			Pin: func(d v1.Hash) (ref.Edit, string) { return pin(d), img.Pin(d) }})
	}
}

// digestField says how to write a digest into mapping m: into its digest
// value when it has one, else as a new "digest:" line after its last entry.
func (f *finder) digestField(m, digest *yaml.Node) (func(v1.Hash) ref.Edit, string) {
	if digest != nil {
		if digest.Value == "" && digest.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			return f.emptyValue(m, "digest") // "digest:" with nothing after it
		}
		start, end, reason := f.s.span(digest)
		if reason != "" {
			return nil, reason
		}
		return func(d v1.Hash) ref.Edit { return ref.Edit{Start: start, End: end, Text: d.String()} }, ""
	}
	if m.Style&yaml.FlowStyle != 0 || len(m.Content) < 2 {
		return nil, "flow-style mapping: add digest: by hand"
	}
	first, last := m.Content[0], m.Content[len(m.Content)-1]
	if last.Kind != yaml.ScalarNode { // an alias or a nested value: its bytes are elsewhere
		return nil, "cannot tell where the entry ends"
	}
	_, end, reason := f.s.span(last)
	if reason != "" {
		return nil, reason
	}
	at := f.s.lineEnd(end)
	indent := strings.Repeat(" ", first.Column-1)
	if line := f.s.src[f.s.offset(first.Line, 1):f.s.offset(first.Line, first.Column)]; bytes.ContainsAny(line, "\t") {
		return nil, "tab indentation"
	}
	nl := f.s.newline()
	return func(d v1.Hash) ref.Edit {
		return ref.Edit{Start: at, End: at, Text: nl + indent + "digest: " + d.String()}
	}, ""
}

// emptyValue writes a value after "key:" in m, where the key has none.
func (f *finder) emptyValue(m *yaml.Node, key string) (func(v1.Hash) ref.Edit, string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Value != key {
			continue
		}
		_, end, reason := f.s.span(k)
		if reason != "" {
			return nil, reason
		}
		if end >= len(f.s.src) || f.s.src[end] != ':' {
			return nil, "cannot find the value's place"
		}
		at := end + 1
		return func(d v1.Hash) ref.Edit { return ref.Edit{Start: at, End: at, Text: " " + d.String()} }, ""
	}
	return nil, "cannot find the value's place"
}

// helm: image: fields of a chart's values, as one string or split into
// registry/repository/tag(/digest).
func (f *finder) helm(n *yaml.Node) {
	f.visit(n, func(key string, v *yaml.Node) bool {
		key = strings.ToLower(key)
		switch {
		case v == nil:
		case key == "image" && v.Kind == yaml.ScalarNode:
			f.scalar(v, KindHelmImage, noScheme)
			return false
		case strings.HasSuffix(key, "image") && v.Kind == yaml.MappingNode:
			if repo := splitRepository(v); repo != nil {
				f.helmSplit(v, repo)
				return false
			}
		}
		return true
	})
}

// splitRepository returns the repository field of a split image spec m:
// its repository:, or, in a mapping with image: and tag: but no
// repository: (ingress-nginx's registry/image/tag/digest), its image:.
// It returns nil when m is no split spec.
func splitRepository(m *yaml.Node) *yaml.Node {
	if repo := lookup(m, "repository"); repo != nil {
		return repo
	}
	img := resolve(lookup(m, "image"))
	if img != nil && img.Kind == yaml.ScalarNode && lookup(m, "tag") != nil {
		return img
	}
	return nil
}

// helmSplit pins an image given as registry/repository/tag(/digest), repo
// being its repository field: an existing digest: key gets the digest,
// else the tag becomes "tag@sha256:…"; a digest already set is a pin.
// ingress-nginx's digestChroot is the digest of another image (the
// chart's "<image>-chroot"), run instead when chroot: is true: never
// written, and with chroot: true the spec is left alone.
func (f *finder) helmSplit(m, repo *yaml.Node) {
	if f.seen[m] {
		return
	}
	f.seen[m] = true
	reg, tag, digest := resolve(lookup(m, "registry")), resolve(lookup(m, "tag")), resolve(lookup(m, "digest"))
	repo = resolve(repo)
	text := repo.Value
	if !isNull(reg) {
		text = reg.Value + "/" + text
	}
	line := repo.Line
	skip := func(reason string) {
		f.skipped = append(f.skipped, ref.Skipped{Kind: KindHelmImage, Line: line, Text: text, Reason: reason})
	}
	if isNull(tag) || tag.Kind != yaml.ScalarNode {
		skip("no tag (the chart's appVersion decides it)")
		return
	}
	text += ":" + tag.Value
	if !isNull(digest) {
		text += "@" + digest.Value
	}
	if r := why(text); r != "" {
		skip(r)
		return
	}
	if c := resolve(lookup(m, "chroot")); c != nil && strings.EqualFold(c.Value, "true") {
		skip("chroot: true runs the -chroot image, pinned by digestChroot: set it by hand")
		return
	}
	img, err := ref.ParseImage(text)
	if err != nil {
		skip("not an image reference")
		return
	}
	var pin func(v1.Hash) ref.Edit
	var reason string
	if digest != nil {
		pin, reason = f.digestField(m, digest)
	} else {
		pin, reason = f.helmTag(tag)
	}
	if reason != "" {
		skip(reason)
		return
	}
	f.found = append(f.found, ref.Found{Kind: KindHelmImage, Line: line, Text: text, Image: img,
		Pin: func(d v1.Hash) (ref.Edit, string) { return pin(d), img.Pin(d) }})
}

// helmTag writes "tag@digest" into a tag value, quoted when it was not
// (a plain 1.2 would otherwise stop being a number only by accident).
func (f *finder) helmTag(tag *yaml.Node) (func(v1.Hash) ref.Edit, string) {
	start, end, reason := f.s.span(tag)
	if reason != "" {
		return nil, reason
	}
	base, _, _ := strings.Cut(tag.Value, "@")
	quoted := tag.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	return func(d v1.Hash) ref.Edit {
		if quoted {
			return ref.Edit{Start: start, End: end, Text: base + "@" + d.String()}
		}
		return ref.Edit{Start: start, End: end, Text: `"` + base + "@" + d.String() + `"`}
	}, ""
}
