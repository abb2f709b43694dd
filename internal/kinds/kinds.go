// Package kinds is the table of the kinds of file cgpin reads: the names
// and globs each is found by, the finder that reads it, and what in it is
// pinned or left alone. --kind, .cgpin.yaml's files:, the README's table
// and the pre-commit hooks' pattern are all checked against this one list.
// Adding a kind is one finder (one file in the package of its format) and
// one row of Table.
package kinds

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// Kind is one row of Table.
type Kind struct {
	Finder ref.Finder
	// Globs find the kind by path (slash-separated, matched without
	// regard to case): a glob without "/" matches the base name, one with
	// "/" the path's last segments, "**" any number of directories.
	Globs []string
	// Match, when set, finds the kind by base name instead of Globs, for
	// names globs cannot say (Globs then only document them).
	Match func(base string) bool
	// Except are globs of paths never of this kind (a chart's templates).
	Except []string
	// Beside, when set, names files one of which must be in the same
	// directory for a file found in a walk to be of this kind (Helm
	// values: Chart.yaml; .env: a Compose file).
	Beside []string
	// Sniff, when set, says from a file's content whether it is of this
	// kind: files matched by name but not by content are passed over.
	Sniff func(path string, src []byte) bool
	// Pinned and LeftAlone say, for the README, what in the kind is
	// pinned and what is not.
	Pinned, LeftAlone string
}

// Name is the kind's --kind name.
func (k *Kind) Name() ref.FileKind { return k.Finder.FileKind() }

// matches reports whether rel (slash-separated) is of k by its path.
func (k *Kind) matches(rel string) bool {
	rel = strings.TrimPrefix(rel, "./")
	for _, g := range k.Except {
		if Match(g, rel) {
			return false
		}
	}
	if k.Match != nil {
		return k.Match(path.Base(rel))
	}
	for _, g := range k.Globs {
		if Match(g, rel) {
			return true
		}
	}
	return false
}

// Match reports whether slash-separated path p matches glob g: a glob
// without "/" matches the base name, one with "/" the last segments of p,
// and a "**" segment any number of them; case is ignored. (path.Match has
// no "**", and a file's name decides its kind whatever its case: hand
// written, twenty lines, instead of a dependency.)
func Match(g, p string) bool {
	gs := strings.Split(strings.ToLower(g), "/")
	ps := strings.Split(strings.ToLower(p), "/")
	for i := range ps {
		if matchSegments(gs, ps[i:]) {
			return true
		}
	}
	return false
}

func matchSegments(gs, ps []string) bool {
	if len(gs) == 0 {
		return len(ps) == 0
	}
	if gs[0] == "**" {
		for i := 0; i <= len(ps); i++ {
			if matchSegments(gs[1:], ps[i:]) {
				return true
			}
		}
		return false
	}
	if len(ps) == 0 {
		return false
	}
	ok, _ := path.Match(gs[0], ps[0])
	return ok && matchSegments(gs[1:], ps[1:])
}

// Lookup returns the row of the kind named name.
func Lookup(name ref.FileKind) (*Kind, bool) {
	for _, k := range Table {
		if k.Name() == name {
			return k, true
		}
	}
	return nil, false
}

// Names lists every kind's name, in Table's order.
func Names() []ref.FileKind {
	out := make([]ref.FileKind, len(Table))
	for i, k := range Table {
		out[i] = k.Name()
	}
	return out
}

// Of returns the kind of the file at rel (slash-separated) by its path:
// the first row of Table whose name it has, kinds known by name before
// kinds known by content (Sniff). beside reports whether a file of that
// name is in rel's directory (nil: take it as there, as for a file the
// user names).
func Of(rel string, beside func(name string) bool) (*Kind, bool) {
	for _, sniffed := range []bool{false, true} {
		for _, k := range Table {
			if (k.Sniff != nil) != sniffed || !k.matches(rel) {
				continue
			}
			if len(k.Beside) > 0 && beside != nil && !slices.ContainsFunc(k.Beside, beside) {
				continue
			}
			return k, true
		}
	}
	return nil, false
}

// Sniff says whether a file whose name made it a candidate for kind is
// of it by its content (true for kinds known by name alone).
func Sniff(kind ref.FileKind, path string, src []byte) bool {
	k, ok := Lookup(kind)
	return ok && (k.Sniff == nil || k.Sniff(path, src))
}

// Find runs the finder of kind over a file's bytes.
func Find(ctx context.Context, kind ref.FileKind, path string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	k, ok := Lookup(kind)
	if !ok {
		return nil, nil, fmt.Errorf("unknown kind of file %q", kind)
	}
	return k.Finder.Find(ctx, path, src)
}

// HiddenDirs are the hidden directories that globs name (".github",
// ".circleci", …): a walk goes into them.
func HiddenDirs() []string {
	var out []string
	for _, k := range Table {
		for _, g := range k.Globs {
			if first, _, ok := strings.Cut(g, "/"); ok && strings.HasPrefix(first, ".") && !slices.Contains(out, first) {
				out = append(out, first)
			}
		}
	}
	return out
}
