package hclref

import (
	"context"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/yamlref"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Places in Docker Bake files.
const (
	KindBakeVariable = yamlref.KindBakeVariable
	KindBakeContext  = yamlref.KindBakeContext
)

// Bake reads docker-bake.hcl files (and docker-bake.json, the same in JSON): the string defaults of variable blocks
// that are image references, and contexts values docker-image://REF;
// never tags (what the build pushes).
var Bake ref.Finder = bake{}

type bake struct{}

func (bake) FileKind() ref.FileKind { return "docker-bake" }

func (bake) Find(ctx context.Context, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	if strings.HasSuffix(strings.ToLower(p), ".json") {
		return yamlref.FindBakeJSON(ctx, p, src)
	}
	body, bom, err := parse(p, src)
	if err != nil {
		return nil, nil, err
	}
	f := &finder{src: src, bom: bom}
	for _, blk := range body.Blocks {
		switch blk.Type {
		case "variable":
			if a, ok := blk.Body.Attributes["default"]; ok {
				if _, _, text, reason := f.literal(a.Expr); reason == "" && ref.LooksLikeImage(text) {
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
