package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

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
	Path     string
	Settings map[string]Setting
}

// keyKinds are the keys a policy file takes (the flags' names) and what
// their values are.
var keyKinds = map[string]string{
	"cooldown": "duration", "stale-after": "duration", "max-age": "duration",
	"cooldown-strict": "bool", "update": "bool",
	"max-behind": "int", "jobs": "int",
	"only-if-changed": "choice", "platform": "platform",
	"ignore-images": "list", "exclude": "list", "kinds": "kinds", "registry-map": "list", "files": "files",
	"verify": "bool", "certificate-identity": "string", "certificate-identity-regexp": "regexp",
	"certificate-oidc-issuer": "string", "certificate-oidc-issuer-regexp": "regexp", "trusted-root": "string", "key": "string",
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

// FindFile looks for FileName from each path up to its repository's root
// (the directory holding .git); "" when there is none. Paths under
// different policy files are an error: one run, one policy.
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
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		abs = filepath.Dir(abs)
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		f := filepath.Join(dir, FileName)
		if _, err := os.Stat(f); err == nil {
			return f, nil
		}
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return "", nil // the repository's root: no policy file
		}
		if filepath.Dir(dir) == dir {
			return "", nil
		}
	}
}

// LoadFile reads and validates a policy file: an unknown key or a bad value
// is an error naming the file and line.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, Settings: map[string]Setting{}}
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

func setting(k, v *yaml.Node) (Setting, error) {
	kind, ok := keyKinds[k.Value]
	if !ok {
		return Setting{}, fmt.Errorf("unknown key %q (known: %s)", k.Value, strings.Join(Keys(), ", "))
	}
	s := Setting{Key: k.Value, Line: v.Line}
	switch {
	case v.Kind == yaml.SequenceNode && (kind == "list" || kind == "kinds"):
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
		case "list", "string":
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
