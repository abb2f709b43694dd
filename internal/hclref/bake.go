package hclref

import (
	"context"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Places in Docker Bake files.
const (
	KindBakeVariable ref.Kind = "bake variable default"
	KindBakeContext  ref.Kind = "bake context"
)

// Bake reads docker-bake.hcl files: the string defaults of variable blocks
// that are image references, and contexts values docker-image://REF;
// never tags (what the build pushes).
var Bake ref.Finder = bake{}

type bake struct{}

func (bake) FileKind() ref.FileKind { return "docker-bake" }

func (bake) Find(_ context.Context, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	body, bom, err := parse(p, src)
	if err != nil {
		return nil, nil, err
	}
	f := &finder{src: src, bom: bom}
	for _, blk := range body.Blocks {
		switch blk.Type {
		case "variable":
			if a, ok := blk.Body.Attributes["default"]; ok {
				if _, _, text, reason := f.literal(a.Expr); reason == "" && looksLikeImage(text) {
					f.image(a.Expr, KindBakeVariable, "", false)
				}
			}
		case "target":
			if a, ok := blk.Body.Attributes["contexts"]; ok {
				objects(a.Expr, func(_ string, v hclsyntax.Expression) {
					f.image(v, KindBakeContext, "docker-image://", true)
				})
			}
		}
	}
	return f.found, f.skipped, nil
}

// looksLikeImage tells a variable's default that names an image
// ("golang:1.23", "cgr.dev/chainguard/go@sha256:…") from the others a Bake
// file sets ("1.2.3", "linux/amd64", "localhost:5000"): it has a tag or a
// digest, and is not a host:port.
func looksLikeImage(s string) bool {
	if !strings.ContainsAny(s, ":@") || strings.ContainsAny(s, " ,=") || strings.Contains(s, "://") {
		return false
	}
	name, _, _ := strings.Cut(s, "@")
	if i := strings.LastIndex(name, ":"); i >= 0 && !strings.Contains(name, "/") {
		host, port := name[:i], name[i+1:]
		if (host == "localhost" || strings.Contains(host, ".")) && strings.Trim(port, "0123456789") == "" {
			return false
		}
	}
	_, err := ref.ParseImage(s)
	return err == nil
}
