// Package dockerfile finds image references in Dockerfiles with buildkit's
// parser and rewrites them in place, byte-for-byte identical outside the
// edited spans.
package dockerfile

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Ref is an image reference as written in a Dockerfile.
type Ref struct {
	Kind ref.Kind
	Line int    // 1-based line where the reference text starts
	Text string // as written, e.g. "python:3.12" or "cgr.dev/x/go:latest@sha256:…"
	// Start and End delimit Text in the source bytes.
	Start, End int
	// DigestStart is where "@sha256:…" starts inside the source, or -1.
	DigestStart int
	// Platform is the FROM's --platform value, if any (may hold variables).
	Platform string
	// Arg is the ARG's name for ArgDefault references.
	Arg string
	// Repo is set when the ARG default holds only the tag ("ARG PY=3.12"
	// with "FROM python:${PY}"): the FROM's name before the tag
	// ("python"). Text is then the tag, and the digest goes beside it.
	Repo string
}

// Skipped is a reference that cannot be pinned, and why.
type Skipped struct {
	Line   int
	Text   string
	Reason string
}

// File is what Find saw in one Dockerfile.
type File struct {
	Refs    []Ref
	Skipped []Skipped
}

// ErrBinary means the input is not text.
var ErrBinary = errors.New("binary file (contains NUL bytes)")

// Find parses src and returns the image references it names: every FROM
// (stage names, "scratch" and stage indexes excluded), COPY --from and
// RUN --mount from= images, and the defaults of global ARGs used as FROM
// ${NAME}. Heredocs, comments and other instructions are never looked at.
func Find(src []byte) (*File, error) {
	if bytes.IndexByte(src, 0) >= 0 {
		return nil, ErrBinary
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	s := newScanner(src, res.EscapeToken)
	f := &File{}
	// Every stage name, for COPY --from and --mount from=, which may name a
	// stage defined later (buildkit registers all stages first). FROM only
	// sees the stages defined before it.
	allStages := map[string]bool{}
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			if name := stageName(n); name != "" {
				allStages[name] = true
			}
		}
	}
	stages := map[string]bool{}
	globalArgs := map[string]*argDef{}
	var argOrder []string
	seenFrom := false
	usedArgs := map[string][]int{}   // arg name -> FROM lines using it
	tagArgs := map[string][]string{} // arg name -> names of FROM name:${NAME}
	stageArgs := map[string]bool{}   // ARGs declared inside a stage

	for _, n := range res.AST.Children {
		switch strings.ToLower(n.Value) {
		case "arg":
			if seenFrom {
				for _, d := range s.argDefs(n.StartLine) {
					stageArgs[d.name] = true
				}
				continue
			}
			for _, d := range s.argDefs(n.StartLine) {
				if _, ok := globalArgs[d.name]; !ok {
					argOrder = append(argOrder, d.name)
				}
				globalArgs[d.name] = d
			}
		case "from":
			seenFrom = true
			f.addFrom(s, n, stages, globalArgs, usedArgs, tagArgs)
			// The stage's own name counts only after its FROM: in
			// "FROM alpine AS alpine" the image is an image.
			if name := stageName(n); name != "" {
				stages[name] = true
			}
		case "copy", "add":
			for _, w := range s.flagWords(n.StartLine) {
				val, ok := strings.CutPrefix(w.text, "--from=")
				if !ok {
					continue
				}
				f.addFlagRef(s, ref.KindCopyFrom, w, len("--from="), val, allStages)
			}
		case "run":
			for _, w := range s.flagWords(n.StartLine) {
				spec, ok := strings.CutPrefix(w.text, "--mount=")
				if !ok {
					continue
				}
				off := len("--mount=")
				for _, field := range strings.Split(spec, ",") {
					// buildkit lowercases mount keys: From= is from=.
					if key, val, ok := strings.Cut(field, "="); ok && strings.EqualFold(key, "from") {
						f.addFlagRef(s, ref.KindMountFrom, w, off+len(key)+1, val, allStages)
					}
					off += len(field) + 1
				}
			}
		}
	}
	for _, name := range argOrder {
		lines := usedArgs[name]
		if len(lines) == 0 {
			continue
		}
		d := globalArgs[name]
		r := Ref{Kind: ref.KindArgDefault, Line: d.line, Text: d.value, Start: d.start, End: d.end, DigestStart: -1, Arg: name}
		if i := strings.LastIndex(d.value, "@"); i >= 0 {
			r.DigestStart = d.start + i
		}
		f.Refs = append(f.Refs, r)
	}
	for _, name := range argOrder {
		if r, ok := f.tagArg(name, globalArgs[name], tagArgs[name], len(usedArgs[name]) > 0, stageArgs[name]); ok {
			f.Refs = append(f.Refs, r)
		}
	}
	slices.SortStableFunc(f.Refs, func(a, b Ref) int { return a.Start - b.Start })
	return f, nil
}

// stageName is the lower-cased "AS name" of a FROM node, or "".
func stageName(n *parser.Node) string {
	var words []string
	for w := n.Next; w != nil; w = w.Next {
		words = append(words, w.Value)
	}
	if len(words) >= 3 && strings.EqualFold(words[1], "as") {
		return strings.ToLower(words[2])
	}
	return ""
}

// addFrom classifies the image of a FROM instruction.
func (f *File) addFrom(s *scanner, n *parser.Node, stages map[string]bool, globalArgs map[string]*argDef, usedArgs map[string][]int, tagArgs map[string][]string) {
	w, _, ok := s.instructionWord(n.StartLine, func(w string) bool { return strings.HasPrefix(w, "--") })
	if !ok {
		f.Skipped = append(f.Skipped, Skipped{Line: n.StartLine, Text: nodeArg(n), Reason: "reference not found in the source text"})
		return
	}
	platform := flagValue(n.Flags, "platform")
	text := w.text
	lower := strings.ToLower(text)
	switch {
	case lower == "scratch", stages[lower]:
		// not an image, or an earlier stage
	case strings.Contains(text, "$"):
		name, whole := wholeVariable(text)
		def, known := globalArgs[name]
		repo, tagVar, isTag := tagVariable(text)
		tagDef, tagKnown := globalArgs[tagVar]
		switch {
		case isTag && tagKnown && tagDef.value != "" && !strings.Contains(tagDef.value, "$"):
			tagArgs[tagVar] = append(tagArgs[tagVar], repo)
		case whole && known && (strings.EqualFold(def.value, "scratch") || stages[strings.ToLower(def.value)]):
			// the ARG's default is scratch (the empty image) or names a
			// stage: nothing to pin, as for a literal FROM scratch
		case whole && known && def.value != "" && !strings.Contains(def.value, "$"):
			usedArgs[name] = append(usedArgs[name], n.StartLine)
		case whole && known && def.value == "":
			f.Skipped = append(f.Skipped, Skipped{Line: n.StartLine, Text: text, Reason: "ARG " + name + " has no default value"})
		default:
			f.Skipped = append(f.Skipped, Skipped{Line: n.StartLine, Text: text, Reason: "contains unresolved variables"})
		}
	case !w.contiguous:
		f.Skipped = append(f.Skipped, Skipped{Line: n.StartLine, Text: text, Reason: "reference is split across continuation lines"})
	default:
		f.Refs = append(f.Refs, s.ref(ref.KindFrom, w, platform))
	}
}

func (f *File) addFlagRef(s *scanner, kind ref.Kind, w word, off int, val string, stages map[string]bool) {
	switch {
	case val == "":
		return
	case stages[strings.ToLower(val)]:
		return // a stage name
	case isNumber(val):
		return // a stage index
	case strings.ContainsAny(val, `"'`):
		f.Skipped = append(f.Skipped, Skipped{Line: w.line, Text: val, Reason: "quoted value"})
		return
	case strings.Contains(val, "$"):
		f.Skipped = append(f.Skipped, Skipped{Line: w.line, Text: val, Reason: "contains unresolved variables"})
		return
	case !w.contiguous:
		f.Skipped = append(f.Skipped, Skipped{Line: w.line, Text: val, Reason: "reference is split across continuation lines"})
		return
	}
	sub := word{text: val, start: w.start + off, end: w.start + off + len(val), line: w.line, contiguous: true}
	f.Refs = append(f.Refs, s.ref(kind, sub, ""))
}

// tagArg is the reference of an ARG whose default is the tag of FROM
// name:${NAME} lines, pinned beside the tag in the ARG ("ARG PY=3.12@sha256:…",
// as a Helm chart's tag: field). Its value is left alone, with a reason,
// when the ARG also serves elsewhere: as a whole image, for FROM lines of
// other images, or inside a stage (where a digest would change its meaning).
func (f *File) tagArg(name string, d *argDef, repos []string, whole, inStage bool) (Ref, bool) {
	if len(repos) == 0 {
		return Ref{}, false
	}
	reason := ""
	switch {
	case whole || slices.ContainsFunc(repos, func(r string) bool { return r != repos[0] }):
		reason = "ARG " + name + " is the tag of more than one image"
	case inStage:
		reason = "ARG " + name + " is also used inside a stage, so its value cannot carry a digest"
	}
	if reason != "" {
		f.Skipped = append(f.Skipped, Skipped{Line: d.line, Text: d.value, Reason: reason})
		return Ref{}, false
	}
	r := Ref{Kind: ref.KindArgDefault, Line: d.line, Text: d.value, Start: d.start, End: d.end, DigestStart: -1, Arg: name, Repo: repos[0]}
	if i := strings.LastIndex(d.value, "@"); i >= 0 {
		r.DigestStart = d.start + i
	}
	return r, true
}

var tagVar = regexp.MustCompile(`^([^$@:]+(?::[0-9]+)?(?:/[^$@:]+)*):\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$`)

// tagVariable reports whether s is name:$NAME or name:${NAME}, a literal
// image name whose whole tag is a variable.
func tagVariable(s string) (repo, arg string, ok bool) {
	m := tagVar.FindStringSubmatch(s)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2] + m[3], true
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

var wholeVar = regexp.MustCompile(`^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$`)

// wholeVariable reports whether s is exactly $NAME or ${NAME}.
func wholeVariable(s string) (string, bool) {
	m := wholeVar.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1] + m[2], true
}

func flagValue(flags []string, name string) string {
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

func nodeArg(n *parser.Node) string {
	if n.Next != nil {
		return n.Next.Value
	}
	return ""
}

func (s *scanner) ref(kind ref.Kind, w word, platform string) Ref {
	r := Ref{Kind: kind, Line: w.line, Text: w.text, Start: w.start, End: w.end, DigestStart: -1, Platform: platform}
	if i := strings.LastIndex(w.text, "@"); i >= 0 {
		r.DigestStart = w.start + i
	}
	return r
}

// Refs is Find for pinning: every reference taken apart, plus the BuildKit
// frontend image of a "# syntax=" directive, and what is left alone. A
// reference that does not parse is a *ref.BadReference.
func Refs(src []byte) ([]ref.Found, []ref.Skipped, error) {
	f, err := Find(src)
	if err != nil {
		return nil, nil, err
	}
	var found []ref.Found
	var errs []error
	if s, ok := syntaxRef(src); ok {
		found = append(found, s)
	}
	for _, r := range f.Refs {
		if r.Repo != "" {
			fd, err := tagRef(r)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			found = append(found, fd)
			continue
		}
		fd, err := ref.Parse(r.Kind, r.Line, r.Start, r.Text)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		found = append(found, fd)
	}
	skipped := make([]ref.Skipped, 0, len(f.Skipped))
	for _, s := range f.Skipped {
		skipped = append(skipped, ref.Skipped{Line: s.Line, Text: s.Text, Reason: s.Reason})
	}
	return found, skipped, errors.Join(errs...)
}

// tagRef is the reference of an ARG default that holds a FROM's tag: it
// reads as the whole reference ("python:3.12"), and is pinned and moved in
// the ARG's value, quotes kept ("3.12" becomes "3.13@sha256:…").
func tagRef(r Ref) (ref.Found, error) {
	fd, err := ref.Parse(r.Kind, r.Line, r.Start, r.Repo+":"+r.Text)
	if err != nil {
		return ref.Found{}, err
	}
	img := fd.Image
	if img.Tag == "" { // "ARG PY=@sha256:…"
		return ref.Found{}, &ref.BadReference{Line: r.Line, Text: fd.Text, Err: errors.New("the ARG holds no tag")}
	}
	fd.Pin = func(d v1.Hash) (ref.Edit, string) {
		return ref.Edit{Start: r.Start, End: r.End, Text: img.Tag + "@" + d.String()}, img.Pin(d)
	}
	fd.Retag = func(tag string, d v1.Hash) ([]ref.Edit, string) {
		return []ref.Edit{{Start: r.Start, End: r.End, Text: tag + "@" + d.String()}}, img.Retagged(tag, d)
	}
	return fd, nil
}

// syntaxRef finds the frontend image of a "# syntax=" directive (BuildKit's
// own directive parser says which line; the value is found on it).
func syntaxRef(src []byte) (ref.Found, bool) {
	syntax, _, loc, ok := parser.DetectSyntax(src)
	if !ok || len(loc) == 0 || strings.Contains(syntax, "$") {
		return ref.Found{}, false
	}
	s := newScanner(src, '\\')
	line := loc[0].Start.Line
	if line < 1 || line > len(s.lines) {
		return ref.Found{}, false
	}
	start, end := s.lines[line-1][0], s.lines[line-1][1]
	eq := bytes.IndexByte(src[start:end], '=')
	if eq < 0 {
		return ref.Found{}, false
	}
	i := bytes.Index(src[start+eq:end], []byte(syntax))
	if i < 0 {
		return ref.Found{}, false
	}
	fd, err := ref.Parse(ref.KindSyntax, line, start+eq+i, syntax)
	return fd, err == nil
}

// Is reports whether src reads as a Dockerfile whatever its name: text
// that buildkit parses, whose instructions are all Dockerfile instructions
// and whose first one after global ARGs is FROM (buildkit's own rule).
// YAML, prose and scripts are not.
func Is(src []byte) bool {
	if bytes.IndexByte(src, 0) >= 0 {
		return false
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return false
	}
	from := false
	for _, n := range res.AST.Children {
		cmd := strings.ToLower(n.Value)
		if _, ok := command.Commands[cmd]; !ok || !from && cmd != command.Arg && cmd != command.From {
			return false
		}
		from = from || cmd == command.From
	}
	return from
}
