package pin

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/kinds"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// Source is a file to pin and what kind it is.
type Source struct {
	Path string // as the user named it, or as found under a named directory
	Kind ref.FileKind
	// Sniff says the kind is a guess to confirm from the content: a YAML or
	// JSON file is Kubernetes only if a document has apiVersion and kind.
	// With no Kind (a file named, of no telling name) the content decides
	// between Kubernetes and a Dockerfile.
	Sniff bool
	// Explicit says the user named the file: a file that turns out to be
	// of no known kind is then an error, not silently passed over.
	Explicit bool
	// Glob is the --kind KIND=GLOB (or files:) glob that chose Kind.
	Glob string
	// Root is the path given that the file was found under (the file
	// itself when named): a symlink may only lead to a file inside one.
	Root string
}

// Limits of the walk of a directory given: deeper trees and more entries
// are an error naming the limit (50 times the 10,000-file repository of the
// benchmarks). Vendored and hidden directories are not walked and not counted.
var (
	maxWalkEntries = 500_000
	maxWalkDepth   = 64
)

// tempName matches the temporary files Write creates beside a file
// (".Dockerfile.cgpin-123456"); one left by a killed run is never input.
var tempName = regexp.MustCompile(`^\.(.+)\.cgpin-[0-9]+$`)

// hiddenKept are the hidden directories where images are named.
var hiddenKept = []string{".github", ".circleci", ".devcontainer", ".gitlab"}

// skipDir names directories never walked: VCS data, other hidden
// directories and vendored code.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") && !slices.Contains(hiddenKept, name) && !slices.Contains(kinds.HiddenDirs(), name) ||
		name == "vendor" || name == "node_modules" || name == "third_party"
}

// kindOf says what kind of file rel (slash-separated) is by its path, as
// the kinds table says: Helm values count only beside a Chart.yaml (or
// when named), and a kind known by content (Kubernetes) is a guess to
// confirm when the file is read.
func kindOf(path, rel string, explicit bool) (Source, bool) {
	var beside func(string) bool
	if !explicit {
		beside = func(name string) bool { return fileExists(filepath.Join(filepath.Dir(path), name)) }
	}
	k, ok := kinds.Of(rel, beside)
	if !ok {
		return Source{}, false
	}
	if k.Name() == ref.Kubernetes && inChartTemplates(path) {
		return Source{}, false // Helm renders these: never edited
	}
	return Source{Path: path, Kind: k.Name(), Sniff: k.Sniff != nil, Explicit: explicit}, true
}

// inChartTemplates reports a file under a Helm chart's templates/.
func inChartTemplates(path string) bool {
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if filepath.Base(dir) == "templates" && fileExists(filepath.Join(filepath.Dir(dir), "Chart.yaml")) {
			return true
		}
		if parent := filepath.Dir(dir); parent == dir {
			return false
		}
	}
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Collect expands paths (files or directories; default ./Dockerfile) into
// the files to pin, skipping hidden (but .github, .circleci, .devcontainer
// and .gitlab) and vendored directories and anything matching an exclude
// glob (matched against the path relative to the walked directory and
// against the base name). kinds, when not empty, keeps only those kinds.
// A named file of no telling name is read as the one kind of kinds, or
// else as its content says: Kubernetes, or (but YAML and JSON) a
// Dockerfile.
func Collect(paths, exclude []string, kinds []ref.FileKind) ([]Source, error) {
	return CollectKinds(paths, exclude, kinds, nil)
}

// CollectKinds is Collect where the files overrides' globs match are of
// their kinds, whatever their names say.
func CollectKinds(paths, exclude []string, kinds []ref.FileKind, overrides []Override) ([]Source, error) {
	if len(paths) == 0 {
		paths = []string{"Dockerfile"}
	}
	for _, g := range exclude {
		if _, err := filepath.Match(g, ""); err != nil {
			return nil, fmt.Errorf("--exclude %q: %w", g, err)
		}
	}
	excluded := func(rel, base string) bool {
		for _, g := range exclude {
			if m, _ := filepath.Match(g, rel); m {
				return true
			}
			if m, _ := filepath.Match(g, base); m {
				return true
			}
		}
		return false
	}
	wanted := func(s Source) bool {
		return len(kinds) == 0 || slices.Contains(kinds, s.Kind) || s.Glob != "" || s.Kind == "" && s.Sniff
	}
	var out []Source
	seen := map[string]bool{}
	add := func(s Source) {
		if !seen[s.Path] && wanted(s) {
			seen[s.Path] = true
			out = append(out, s)
		}
	}
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, unwrapPathError(err))
		}
		if !fi.IsDir() {
			if !tempName.MatchString(filepath.Base(root)) {
				s, ok := overridden(root, root, true, overrides)
				if !ok {
					s = named(root, kinds)
				}
				s.Root = root
				add(s)
			}
			continue
		}
		entries := 0
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%s: %w", p, unwrapPathError(err))
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				if p != root && (skipDir(d.Name()) || excluded(rel, d.Name())) {
					return filepath.SkipDir
				}
				if depth := strings.Count(filepath.ToSlash(rel), "/") + 1; p != root && depth > maxWalkDepth {
					return fmt.Errorf("%s: more than %d directories deep below %s, the deepest cgpin walks; name a subdirectory or --exclude it", p, maxWalkDepth, root)
				}
			}
			if entries++; entries > maxWalkEntries {
				return fmt.Errorf("%s: more than %d files and directories, the most cgpin walks; name subdirectories or --exclude some", root, maxWalkEntries)
			}
			if d.IsDir() || excluded(rel, d.Name()) || tempName.MatchString(d.Name()) {
				return nil
			}
			if s, ok := overridden(p, rel, false, overrides); ok {
				s.Root = root
				add(s)
			} else if s, ok := kindOf(p, filepath.ToSlash(rel), false); ok {
				s.Root = root
				add(s)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// named is a file the user named: its kind by name, else the one kind
// asked for, else (YAML and JSON) Kubernetes if its content says so, else
// Kubernetes or a Dockerfile as its content says (of those asked for);
// Build fails on a file that is neither.
func named(path string, kinds []ref.FileKind) Source {
	abs, _ := filepath.Abs(path)
	if s, ok := kindOf(path, filepath.ToSlash(abs), true); ok && !s.Sniff {
		return s
	}
	if len(kinds) == 1 {
		return Source{Path: path, Kind: kinds[0], Explicit: true}
	}
	if s, ok := kindOf(path, filepath.ToSlash(abs), true); ok {
		return s
	}
	k8s := len(kinds) == 0 || slices.Contains(kinds, ref.Kubernetes)
	switch df := len(kinds) == 0 || slices.Contains(kinds, ref.Dockerfile); {
	case k8s && df:
		return Source{Path: path, Sniff: true, Explicit: true}
	case k8s:
		return Source{Path: path, Kind: ref.Kubernetes, Sniff: true, Explicit: true}
	case df:
		return Source{Path: path, Kind: ref.Dockerfile, Explicit: true}
	}
	return Source{Path: path, Explicit: true} // of no kind asked for: passed over
}

// Override makes the files Glob matches of Kind, whatever their names
// say (--kind KIND=GLOB, .cgpin.yaml's files:). Globs match as the kinds
// table's do (kinds.Match).
type Override struct {
	Kind ref.FileKind
	Glob string
}

// overridden is the file's kind by the first override whose glob matches
// rel.
func overridden(path, rel string, explicit bool, overrides []Override) (Source, bool) {
	for _, o := range overrides {
		if kinds.Match(o.Glob, filepath.ToSlash(rel)) {
			return Source{Path: path, Kind: o.Kind, Explicit: explicit, Glob: o.Glob}, true
		}
	}
	return Source{}, false
}

// NewOverride checks that kind is a kind and glob a glob.
func NewOverride(kind, glob string) (Override, error) {
	k := ref.FileKind(strings.ToLower(strings.TrimSpace(kind)))
	if !slices.Contains(kinds.Names(), k) {
		return Override{}, fmt.Errorf("kind %q: want one of %s", kind, kindList())
	}
	if _, err := path.Match(strings.ToLower(glob), ""); err != nil || glob == "" {
		return Override{}, fmt.Errorf("%q is not a glob", glob)
	}
	return Override{Kind: k, Glob: glob}, nil
}

// ParseOverrides reads the KIND=GLOB values of --kind.
func ParseOverrides(values []string) ([]Override, error) {
	var out []Override
	for _, v := range values {
		for _, kv := range strings.Split(v, ",") {
			k, glob, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				continue
			}
			o, err := NewOverride(k, glob)
			if err != nil {
				return nil, fmt.Errorf("--kind %q: %w", kv, err)
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// ParseKinds reads --kind values ("compose,kubernetes"; "all"); KIND=GLOB
// values are ParseOverrides'.
func ParseKinds(values []string) ([]ref.FileKind, error) {
	var out []ref.FileKind
	for _, v := range values {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(strings.ToLower(k))
			switch {
			case k == "" || k == "all" || strings.Contains(k, "="):
				continue
			case slices.Contains(kinds.Names(), ref.FileKind(k)):
				out = append(out, ref.FileKind(k))
			default:
				return nil, fmt.Errorf("--kind %q: want one of %s", k, kindList())
			}
		}
	}
	return out, nil
}

func kindList() string {
	names := make([]string, len(kinds.Table))
	for i, k := range kinds.Names() {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
