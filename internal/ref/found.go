package ref

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FileKind is a kind of file that names images.
type FileKind string

// The kinds of file cgpin reads.
const (
	Dockerfile    FileKind = "dockerfile"
	Compose       FileKind = "compose"
	Kubernetes    FileKind = "kubernetes"
	Kustomize     FileKind = "kustomize"
	Helm          FileKind = "helm"
	GitHubActions FileKind = "github-actions"
	GitLabCI      FileKind = "gitlab-ci"
	CircleCI      FileKind = "circleci"
	DevContainer  FileKind = "devcontainer"
)

// Finder finds the image references in the bytes of one file of its kind
// (path is for messages and the file's format): each with its byte span and
// how to pin it, what it leaves alone and why, or the file's parse error.
// Every kind of file has one; internal/kinds lists them.
type Finder interface {
	FileKind() FileKind
	Find(ctx context.Context, path string, src []byte) ([]Found, []Skipped, error)
}

// Kind says what kind of place in a file a reference was found in:
// "FROM", "COPY --from", … Every file format's finder names its own.
type Kind string

// Kinds of places in Dockerfiles.
const (
	KindSyntax     Kind = "syntax directive" // # syntax=<frontend image>
	KindFrom       Kind = "FROM"             // FROM <image>
	KindCopyFrom   Kind = "COPY --from"      // COPY --from=<image>
	KindMountFrom  Kind = "RUN --mount from" // RUN --mount=...,from=<image>
	KindArgDefault Kind = "ARG default"      // ARG NAME=<image>, used by FROM ${NAME}
)

// Found is an image reference found in a file: where, what it says, taken
// apart, and how to pin it there.
type Found struct {
	Kind Kind
	Line int
	// Text is the reference as a user reads it in the file ("nginx:1.27",
	// or "bitnami/redis:7.2" assembled from a Helm chart's split fields).
	Text  string
	Image Image
	// Pin returns the edit that pins the reference to d, and the text the
	// reference then reads as.
	Pin func(d v1.Hash) (Edit, string)
	// Retag returns the edits that move the reference to tag and pin d,
	// and the text it then reads as (nil where the tag cannot be moved).
	Retag func(tag string, d v1.Hash) ([]Edit, string)
}

// Inline is how most references are pinned: text, written at
// src[start:], ("python:3.12" or "python:3.12@sha256:old") becomes
// img.Pin(d), the name as written with "@" + d.
func Inline(start int, text string, img Image) func(v1.Hash) (Edit, string) {
	return func(d v1.Hash) (Edit, string) {
		return Edit{Start: start, End: start + len(text), Text: img.Pin(d)}, img.Pin(d)
	}
}

// InlineRetag moves the tag of text, written at src[start:], and pins d:
// "python:3.12@sha256:old" becomes "python:3.13@sha256:new".
func InlineRetag(start int, text string, img Image) func(string, v1.Hash) ([]Edit, string) {
	return func(tag string, d v1.Hash) ([]Edit, string) {
		s := img.Retagged(tag, d)
		return []Edit{{Start: start, End: start + len(text), Text: s}}, s
	}
}

// Retagged is the reference as written with tag for its tag, pinned to d
// ("python:3.12" → "python:3.13@sha256:…").
func (i Image) Retagged(tag string, d v1.Hash) string {
	return strings.TrimSuffix(i.Name, i.Tag) + tag + "@" + d.String()
}

// Parse takes apart a reference found at start of the file: the Found
// pins it inline. A text that is no image reference is a *BadReference.
func Parse(kind Kind, line, start int, text string) (Found, error) {
	img, err := ParseImage(text)
	if err != nil {
		return Found{}, &BadReference{Line: line, Text: text, Err: err}
	}
	f := Found{Kind: kind, Line: line, Text: text, Image: img, Pin: Inline(start, text, img)}
	if img.Tag != "" {
		f.Retag = InlineRetag(start, text, img)
	}
	return f, nil
}

// BadReference is a value in a place for references that is none.
type BadReference struct {
	Line int
	Text string
	Err  error
}

func (e *BadReference) Error() string { return fmt.Sprintf("line %d: %s: %v", e.Line, e.Text, e.Err) }

func (e *BadReference) Unwrap() error { return e.Err }

// Skipped is a reference left alone, and why.
type Skipped struct {
	Kind   Kind
	Line   int
	Text   string
	Reason string
}

// Edit replaces src[Start:End] with Text.
type Edit struct {
	Start, End int
	Text       string
}

// Apply returns src with the edits made; everything else is unchanged.
func Apply(src []byte, edits []Edit) ([]byte, error) {
	edits = slices.Clone(edits)
	slices.SortFunc(edits, func(a, b Edit) int { return a.Start - b.Start })
	var out bytes.Buffer
	out.Grow(len(src) + 80*len(edits))
	pos := 0
	for i, e := range edits {
		if e.Start < pos || e.End < e.Start || e.End > len(src) || (i > 0 && e.Start == edits[i-1].Start) {
			return nil, fmt.Errorf("overlapping or out-of-range edit [%d,%d)", e.Start, e.End)
		}
		out.Write(src[pos:e.Start])
		out.WriteString(e.Text)
		pos = e.End
	}
	out.Write(src[pos:])
	return out.Bytes(), nil
}
