package hclref

import (
	"context"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// KindNomadImage is the place Nomad job files name images.
const KindNomadImage ref.Kind = "nomad task image"

// Nomad reads *.nomad and *.nomad.hcl job files: config { image = "…" } of
// each task run by the docker or podman driver.
var Nomad ref.Finder = nomad{}

type nomad struct{}

func (nomad) FileKind() ref.FileKind { return "nomad" }

func (nomad) Find(_ context.Context, p string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	body, bom, err := parse(p, src)
	if err != nil {
		return nil, nil, err
	}
	f := &finder{src: src, bom: bom}
	blocks(body, nil, func(task *hclsyntax.Block, _ []*hclsyntax.Block) {
		if task.Type != "task" {
			return
		}
		d, ok := task.Body.Attributes["driver"]
		if !ok {
			return
		}
		if _, _, driver, reason := f.literal(d.Expr); reason != "" || (driver != "docker" && driver != "podman") {
			return
		}
		for _, c := range task.Body.Blocks {
			if a, ok := c.Body.Attributes["image"]; ok && c.Type == "config" {
				f.image(a.Expr, KindNomadImage, "", false)
			}
		}
	})
	return f.found, f.skipped, nil
}
