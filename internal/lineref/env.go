package lineref

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/yamlref"
)

// ComposeFiles are the names Compose reads beside a .env file.
var ComposeFiles = []string{"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}

// MaxComposeSize bounds the Compose file a .env file's finder reads beside
// it to learn which variables are images.
const MaxComposeSize = 4 << 20

// Env reads a .env file beside a Compose file: the KEY=REF lines (export
// and quotes allowed) whose KEY is the whole image of a service
// (image: ${KEY}); the reference is pinned here, where its value lives, and
// the change names the services it feeds. Other lines are never touched.
var Env ref.Finder = env{}

type env struct{}

func (env) FileKind() ref.FileKind { return "env" }

func (env) Find(_ context.Context, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	ls, err := lines(src)
	if err != nil {
		return nil, nil, err
	}
	keys, err := imageVariables(filepath.Dir(p))
	if err != nil {
		return nil, nil, err
	}
	var found []ref.Found
	var skipped []ref.Skipped
	for _, l := range ls {
		body := strings.TrimLeft(l.text, " \t")
		at := len(l.text) - len(body)
		if rest, ok := strings.CutPrefix(body, "export "); ok {
			at += len(body) - len(rest)
			body = rest
		}
		key, v, ok := strings.Cut(body, "=")
		services := keys[strings.TrimSpace(key)]
		if !ok || strings.HasPrefix(key, "#") || len(services) == 0 {
			continue
		}
		at += len(key) + 1
		if t := strings.TrimSpace(v); t != "" && t[0] != '"' && t[0] != '\'' {
			if i := strings.Index(v, " #"); i >= 0 { // an unquoted value's comment
				v = v[:i]
			}
		}
		kind := ref.Kind(".env (image of service " + strings.Join(services, ", ") + ")")
		fd, skip := value(kind, l, at, v)
		if skip != nil {
			skipped = append(skipped, *skip)
			continue
		}
		found = append(found, fd)
	}
	return found, skipped, nil
}

// imageVariables reads the Compose files in dir (regular files only, each
// at most MaxComposeSize) for the variables that are services' images.
func imageVariables(dir string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, name := range ComposeFiles {
		p := filepath.Join(dir, name)
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // absent, or a link or device this finder does not follow
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		src, err := io.ReadAll(io.LimitReader(f, MaxComposeSize+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		if len(src) > MaxComposeSize {
			return nil, fmt.Errorf("%s is over %d MiB: not read for the .env file's images", name, MaxComposeSize>>20)
		}
		vars, err := yamlref.ImageVariables(p, src)
		if err != nil {
			return nil, fmt.Errorf("%s beside it: %w", name, err)
		}
		for k, svcs := range vars {
			for _, s := range svcs {
				if !slices.Contains(out[k], s) {
					out[k] = append(out[k], s)
				}
			}
		}
	}
	return out, nil
}
