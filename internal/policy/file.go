package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.yaml.in/yaml/v3"
)

// FileName is the repository policy file: the flags a team always wants,
// kept beside the code (as frizbee's .frizbee.yml or renovate.json are).
const FileName = ".cgpin.yaml"

// Setting is one value of a policy file.
type Setting struct {
	Key    string
	Values []string // one value, or a list's items
	Line   int
}

// File is a policy file, validated.
type File struct {
	Path string
	// Root is the repository the file belongs to (the directory holding
	// .git, else the file's own): the paths it names stay inside it.
	Root     string
	Settings map[string]Setting
}

// keyKinds are the keys a policy file takes (the flags' names) and what
// their values are. A new key is a row here, checked by its kind, and a
// binding to its field in internal/config.
var keyKinds = map[string]string{
	"cooldown": "duration", "stale-after": "duration", "max-age": "duration",
	"cooldown-strict": "bool", "update": "bool", "bump": "bump",
	"max-behind": "int", "jobs": "int",
	"only-if-changed": "choice", "platform": "platform",
	"ignore-images": "list", "exclude": "list", "kinds": "kinds", "registry-map": "list", "files": "files",
	"verify": "bool", "certificate-identity": "string", "certificate-identity-regexp": "regexp",
	"certificate-oidc-issuer": "string", "certificate-oidc-issuer-regexp": "regexp", "trusted-root": "path", "key": "path",
}

// Keys lists the keys a policy file takes, sorted.
func Keys() []string {
	keys := make([]string, 0, len(keyKinds))
	for k := range keyKinds {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// MaxFileSize bounds a policy file and each file it names (key,
// trusted-root), and the --key and --trusted-root files: a public key or a
// trusted_root.json is a few kilobytes.
const MaxFileSize = 1 << 20

// FindFile looks for FileName from each path up to its repository's root
// (the nearest directory above holding .git); without one, only the path's
// own directory is looked at, never the directories above it. "" when there
// is none. Paths under different policy files are an error: one run, one
// policy.
func FindFile(paths []string) (string, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	found := ""
	for _, p := range paths {
		f, err := findFrom(p)
		if err != nil {
			return "", err
		}
		if found != "" && f != found {
			return "", fmt.Errorf("%s and %s both apply: run docker cgpin once per policy file", found, f)
		}
		found = f
	}
	return found, nil
}

func findFrom(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		abs = filepath.Dir(abs) // a file's directory (the run says if it is missing)
	}
	top := repoRoot(abs)
	for dir := abs; ; dir = filepath.Dir(dir) {
		f := filepath.Join(dir, FileName)
		if _, err := os.Lstat(f); err == nil { // a symbolic link too: LoadFile checks where it leads
			return f, nil
		}
		if dir == top || filepath.Dir(dir) == dir {
			return "", nil
		}
	}
}

// repoRoot is the nearest directory from dir up holding .git, else dir.
func repoRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// SafeDirectories are the repositories whose policy files are trusted
// whoever owns them, as git's safe.directory: a job running as root on a
// checkout another user owns (a CI container) lists its workspace. "*" is
// every repository. A policy file there that other users can write is
// still refused.
type SafeDirectories []string

// SafeDirectoryEnv names the variable that lists SafeDirectories.
const SafeDirectoryEnv = "CGHISTORY_SAFE_DIRECTORY"

// ParseSafeDirectories reads directories separated by the system's list
// separator (":", as PATH); empty entries are dropped.
func ParseSafeDirectories(s string) SafeDirectories {
	var out SafeDirectories
	for _, d := range filepath.SplitList(s) {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// covers says whether root (absolute, clean) is one of s, as written or
// through symbolic links.
func (s SafeDirectories) covers(root string) bool {
	if len(s) == 0 {
		return false
	}
	realRoot, _ := filepath.EvalSymlinks(root)
	for _, d := range s {
		if d == "*" {
			return true
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		if abs == root {
			return true
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil && realRoot != "" && real == realRoot {
			return true
		}
	}
	return false
}

// LoadFile reads and validates a policy file: an unknown key or a bad value
// is an error naming the file and line. A policy file is trusted like the
// code beside it, so one another user could have written (see trusted) is
// refused, unless its repository is one of safe and only its owner is
// other; the paths it names are relative to it and stay inside its
// repository (Root).
func LoadFile(path string, safe SafeDirectories) (*File, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, Root: repoRoot(filepath.Dir(path)), Settings: map[string]Setting{}}
	if err := inside(f.Root, path); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	anyOwner := safe.covers(f.Root)
	data, err := readFile(path, f.Root, func(name string, fi fs.FileInfo) error { return trusted(name, fi, anyOwner) })
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil // empty file
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return f, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of settings (%s)", path, m.Line, strings.Join(Keys(), ", "))
	}
	var errs []error
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		s, err := setting(k, v)
		if err == nil && keyKinds[s.Key] == "path" {
			s.Values[0], err = f.named(s.Key, s.Values[0])
		}
		if err != nil {
			line := v.Line
			var le *lineError
			if errors.As(err, &le) {
				line = le.line
			}
			errs = append(errs, fmt.Errorf("%s:%d: %w", path, line, err))
			continue
		}
		f.Settings[s.Key] = s
	}
	return f, errors.Join(errs...)
}

// named resolves a path the policy file names: relative to the file, inside
// its repository, a regular file within MaxFileSize.
func (f *File) named(key, val string) (string, error) {
	if filepath.IsAbs(val) || filepath.VolumeName(val) != "" {
		return "", fmt.Errorf("%s: %q is an absolute path: paths in %s are relative to it and stay inside the repository %s", key, val, FileName, f.Root)
	}
	p := filepath.Join(filepath.Dir(f.Path), val)
	if err := inside(f.Root, p); err != nil {
		return "", fmt.Errorf("%s: %q %w", key, val, err)
	}
	if _, err := readFile(p, f.Root, nil); err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return p, nil
}

// inside checks that p, symbolic links resolved, is in root.
func inside(root, p string) error {
	if rel, err := filepath.Rel(root, p); err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("leaves the repository %s", root)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // readFile says so
	}
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(realRoot, real); err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("is a symbolic link out of the repository %s", root)
	}
	return nil
}

// ReadFile reads a regular file of at most MaxFileSize bytes, without
// blocking on a FIFO or device. With within set (a policy file's
// repository), name must resolve inside it, symbolic links included.
// Errors name the file, never its content.
func ReadFile(name, within string) ([]byte, error) {
	return readFile(name, within, nil)
}

func readFile(name, within string, check func(string, fs.FileInfo) error) ([]byte, error) {
	// Stat first, open non-blocking, then check what was opened: a FIFO
	// swapped in between neither blocks the open nor gets read.
	const flags = os.O_RDONLY | syscall.O_NONBLOCK
	var file *os.File
	if within == "" {
		fi, err := os.Stat(name)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", name)
		}
		if file, err = os.OpenFile(name, flags, 0); err != nil {
			return nil, err
		}
	} else {
		root, err := os.OpenRoot(within)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		rel, err := filepath.Rel(within, name)
		if err != nil {
			return nil, err
		}
		fi, err := root.Stat(rel)
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err // named in full below, not as relative to the root
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", name)
		}
		if file, err = root.OpenFile(rel, flags, 0); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	if check != nil {
		if err := check(name, fi); err != nil {
			return nil, err
		}
	}
	tooBig := fmt.Errorf("%s: larger than the %d MiB limit", name, MaxFileSize>>20)
	if fi.Size() > MaxFileSize {
		return nil, tooBig
	}
	data, err := io.ReadAll(io.LimitReader(file, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooBig
	}
	return data, nil
}

func setting(k, v *yaml.Node) (Setting, error) {
	kind, ok := keyKinds[k.Value]
	if !ok {
		return Setting{}, fmt.Errorf("unknown key %q (known: %s)", k.Value, strings.Join(Keys(), ", "))
	}
	s := Setting{Key: k.Value, Line: v.Line}
	switch {
	case v.Kind == yaml.SequenceNode && (kind == "list" || kind == "kinds" || kind == "bump"):
		if len(v.Content) == 0 {
			return Setting{}, fmt.Errorf("%s: an empty list (leave the key out instead)", k.Value)
		}
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				return Setting{}, fmt.Errorf("%s: want a list of strings", k.Value)
			}
			s.Values = append(s.Values, item.Value)
		}
	case kind == "files" && v.Kind == yaml.MappingNode:
		return files(k.Value, v)
	case kind == "files":
		return Setting{}, fmt.Errorf("%s: want a mapping of globs to kinds (\"ci/*.yml\": gitlab-ci)", k.Value)
	case v.Kind == yaml.ScalarNode && kind != "files":
		s.Values = []string{v.Value}
	default:
		return Setting{}, fmt.Errorf("%s: want a single value", k.Value)
	}
	return s, check(kind, s)
}

// files reads the files: mapping of globs to kinds ("ci/*.yml":
// gitlab-ci) into values KIND=GLOB; an entry that is no glob or no kind is
// an error naming its line.
func files(key string, v *yaml.Node) (Setting, error) {
	s := Setting{Key: key, Line: v.Line}
	for i := 0; i+1 < len(v.Content); i += 2 {
		g, k := v.Content[i], v.Content[i+1]
		if g.Kind != yaml.ScalarNode || k.Kind != yaml.ScalarNode {
			return Setting{}, &lineError{g.Line, fmt.Errorf("%s: want glob: kind", key)}
		}
		if _, err := pin.NewOverride(k.Value, g.Value); err != nil {
			return Setting{}, &lineError{k.Line, fmt.Errorf("%s: %q: %w", key, g.Value, err)}
		}
		s.Values = append(s.Values, k.Value+"="+g.Value)
	}
	if len(s.Values) == 0 {
		return Setting{}, fmt.Errorf("%s: an empty mapping (leave the key out instead)", key)
	}
	return s, nil
}

// lineError is a setting's error on a line of its own (an entry of a
// mapping).
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

// check validates a setting's values as its flag would.
func check(kind string, s Setting) error {
	for _, val := range s.Values {
		var err error
		switch kind {
		case "duration":
			_, err = history.ParseDuration(val)
		case "bool":
			_, err = strconv.ParseBool(val)
		case "int":
			var n int
			if n, err = strconv.Atoi(val); err == nil && n < 0 {
				err = errors.New("must not be negative")
			}
		case "choice":
			if val != ChangedPackages && val != ChangedVulns {
				err = errors.New("want packages or vulns")
			}
		case "platform":
			var p *v1.Platform
			if p, err = v1.ParsePlatform(val); err == nil && (p.OS == "" || p.Architecture == "") {
				err = errors.New("want os/arch[/variant]")
			}
		case "kinds":
			_, err = pin.ParseKinds([]string{val})
		case "bump":
			_, err = pin.ParseBumpRules([]string{val})
		case "list", "string", "path":
			if strings.TrimSpace(val) == "" {
				err = errors.New("empty value")
			}
		case "regexp":
			_, err = regexp.Compile(val)
		}
		if err != nil {
			return fmt.Errorf("%s: %q: %w", s.Key, val, err)
		}
	}
	return nil
}
