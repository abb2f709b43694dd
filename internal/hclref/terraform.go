package hclref

import (
	"context"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// KindTerraformImage is the place Terraform files name images.
const KindTerraformImage ref.Kind = "terraform image"

// Terraform reads *.tf files: image of docker_container, name of
// docker_image, image of the container and init_container blocks of
// kubernetes_* resources, images in kubernetes_manifest's manifest and in
// aws_ecs_task_definition's container_definitions = jsonencode(…).
var Terraform ref.Finder = terraform{}

type terraform struct{}

func (terraform) FileKind() ref.FileKind { return "terraform" }

func (terraform) Find(_ context.Context, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	body, bom, err := parse(p, src)
	if err != nil {
		return nil, nil, err
	}
	f := &finder{src: src, bom: bom}
	attr := func(b *hclsyntax.Body, name string) {
		if a, ok := b.Attributes[name]; ok {
			f.image(a.Expr, KindTerraformImage, "", false)
		}
	}
	for _, blk := range body.Blocks {
		if (blk.Type != "resource" && blk.Type != "data") || len(blk.Labels) == 0 {
			continue
		}
		switch typ := blk.Labels[0]; {
		case typ == "docker_container":
			attr(blk.Body, "image")
		case typ == "docker_image" || typ == "docker_registry_image":
			attr(blk.Body, "name")
		case typ == "kubernetes_manifest":
			if a, ok := blk.Body.Attributes["manifest"]; ok {
				f.imageKeys(a.Expr)
			}
		case strings.HasPrefix(typ, "kubernetes_"):
			blocks(blk.Body, nil, func(c *hclsyntax.Block, _ []*hclsyntax.Block) {
				if c.Type == "container" || c.Type == "init_container" {
					attr(c.Body, "image")
				}
			})
		case typ == "aws_ecs_task_definition":
			a, ok := blk.Body.Attributes["container_definitions"]
			if !ok {
				continue
			}
			if call, ok := a.Expr.(*hclsyntax.FunctionCallExpr); ok && call.Name == "jsonencode" {
				f.imageKeys(call)
				continue
			}
			_, _, text, reason := f.literal(a.Expr)
			if reason == "" {
				reason = "JSON in a string"
			}
			f.skipped = append(f.skipped, ref.Skipped{Kind: KindTerraformImage, Line: a.Expr.Range().Start.Line, Text: firstLine(text),
				Reason: "container_definitions given as " + reason + ": pinned only in jsonencode(…) of literals"})
		}
	}
	return f.found, f.skipped, nil
}

// imageKeys pins every image = "…" in the objects of e.
func (f *finder) imageKeys(e hclsyntax.Expression) {
	objects(e, func(k string, v hclsyntax.Expression) {
		if k == "image" {
			f.image(v, KindTerraformImage, "", false)
		}
	})
}
