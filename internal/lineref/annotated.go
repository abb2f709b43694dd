package lineref

import (
	"bytes"
	"context"
	"regexp"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// KindAnnotated is the place of a reference marked "cgpin: image".
const KindAnnotated ref.Kind = "cgpin: image"

// Marker is the comment that marks a line's image reference.
const Marker = "cgpin: image"

// Annotated reads any text file (Makefiles, shell scripts, Go, TypeScript
// and Python constants, Jenkinsfiles, Earthfiles): only a reference on a
// line marked by a comment "cgpin: image" (#, //, -- or ;), at the line's
// end or alone on the line above, is ever touched.
var Annotated ref.Finder = annotated{}

type annotated struct{}

func (annotated) FileKind() ref.FileKind { return "annotated" }

// HasMarker reports whether src has a marker anywhere (the cheap test
// before a file of a common name is read as annotated).
func HasMarker(src []byte) bool { return bytes.Contains(src, []byte(Marker)) }

var (
	// marker is the comment at a line's end (after code) or alone on it.
	marker = regexp.MustCompile(`(^|\s)(#|//|--|;)\s*cgpin:\s*image\s*$`)
	// token is a run of characters an image reference (or a variable in
	// one) is made of.
	token = regexp.MustCompile(`[A-Za-z0-9._/:@${}-]+`)
)

func (annotated) Find(_ context.Context, _ string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	ls, err := lines(src)
	if err != nil {
		return nil, nil, err
	}
	var found []ref.Found
	var skipped []ref.Skipped
	for i, l := range ls {
		loc := marker.FindStringIndex(l.text)
		if loc == nil {
			continue
		}
		target, code := l, l.text[:loc[0]]
		if strings.TrimSpace(code) == "" { // alone on its line: the next line
			if i+1 >= len(ls) {
				skipped = append(skipped, ref.Skipped{Kind: KindAnnotated, Line: l.n, Text: Marker, Reason: "marker on the last line: no reference after it"})
				continue
			}
			target = ls[i+1]
			code = target.text
			if m := marker.FindStringIndex(code); m != nil {
				code = code[:m[0]]
			}
		}
		var cands [][]int
		for _, t := range token.FindAllStringIndex(code, -1) {
			if w := code[t[0]:t[1]]; strings.ContainsAny(w, ":@") && !strings.HasSuffix(w, ":") && !strings.Contains(w, "://") {
				cands = append(cands, t)
			}
		}
		text := strings.TrimSpace(code)
		switch len(cands) {
		case 0:
			skipped = append(skipped, ref.Skipped{Kind: KindAnnotated, Line: target.n, Text: text, Reason: "marked cgpin: image, but no image reference on the line"})
			continue
		case 1:
		default:
			skipped = append(skipped, ref.Skipped{Kind: KindAnnotated, Line: target.n, Text: text, Reason: "marked cgpin: image, but more than one reference on the line"})
			continue
		}
		w := code[cands[0][0]:cands[0][1]]
		fd, skip := value(KindAnnotated, target, cands[0][0], w)
		if skip != nil {
			skipped = append(skipped, *skip)
			continue
		}
		found = append(found, fd)
	}
	return found, skipped, nil
}
