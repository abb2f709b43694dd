package hclref

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// KindTerraformImage is the place Terraform files name images.
const KindTerraformImage ref.Kind = "terraform image"

// Terraform reads *.tf files: image of docker_container, name of
// docker_image, image of the container and init_container blocks of
// kubernetes_* resources, images in kubernetes_manifest's manifest and in
// aws_ecs_task_definition's container_definitions = jsonencode(…) or a
// heredoc of JSON with no interpolation.
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
			if reason := f.heredocJSON(a.Expr); reason != "" {
				_, _, text, _ := f.literal(a.Expr)
				f.skipped = append(f.skipped, ref.Skipped{Kind: KindTerraformImage, Line: a.Expr.Range().Start.Line, Text: firstLine(text),
					Reason: "container_definitions given as " + reason + ": pinned only in jsonencode(…) of literals or a literal heredoc of JSON"})
			}
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

// heredocJSON pins every "image" value in e when e is a heredoc (<<EOF or
// <<-EOF) of JSON with no interpolation or template directive; otherwise
// it says why it did not. The JSON is read from the heredoc's own bytes
// (indentation is whitespace to JSON), so offsets are offsets in the file.
func (f *finder) heredocJSON(e hclsyntax.Expression) (reason string) {
	t, ok := e.(*hclsyntax.TemplateExpr)
	if !ok {
		_, _, _, reason = f.literal(e)
		return reason
	}
	start, end := t.SrcRange.Start.Byte+f.bom, t.SrcRange.End.Byte+f.bom
	text := string(f.src[start:end])
	if !strings.HasPrefix(text, "<<") {
		if _, _, _, reason = f.literal(e); reason == "" {
			reason = "JSON in a quoted string"
		}
		return reason
	}
	for _, part := range t.Parts {
		if _, ok := part.(*hclsyntax.LiteralValueExpr); !ok {
			return "heredoc with interpolation or template directive"
		}
	}
	// The body runs from after the opening line to the closing marker's line.
	open := strings.IndexByte(text, '\n') + 1
	closing := strings.LastIndexByte(strings.TrimRight(text, " \t\r\n"), '\n') + 1
	if open == 0 || closing <= open {
		return "empty heredoc"
	}
	body := f.src[start+open : start+closing]
	if bytes.Contains(body, []byte("${")) || bytes.Contains(body, []byte("%{")) {
		return "heredoc with escaped template sequences"
	}
	found, skipped, err := jsonImages(body, start+open, f.src)
	if err != nil {
		return "heredoc that is not JSON (" + err.Error() + ")"
	}
	f.found = append(f.found, found...)
	f.skipped = append(f.skipped, skipped...)
	return ""
}

// jsonImages finds the string values of "image" keys, at any depth, in
// JSON body that starts at byte base of src. Written with encoding/json's
// token stream because it gives each token's end offset (no JSON library
// gives value spans); a value with escapes is left alone.
func jsonImages(body []byte, base int, src []byte) ([]ref.Found, []ref.Skipped, error) {
	type frame struct{ object, wantKey bool }
	var (
		stack   []frame
		key     string
		found   []ref.Found
		skipped []ref.Skipped
	)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) && len(stack) == 0 {
			break
		}
		if errors.Is(err, io.EOF) {
			return nil, nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, nil, err
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:top]
			if top > 0 && stack[top-1].object {
				stack[top-1].wantKey = true
			}
			continue
		}
		if top >= 0 && stack[top].object && stack[top].wantKey {
			key, _ = tok.(string)
			stack[top].wantKey = false
			continue
		}
		inObject := top >= 0 && stack[top].object
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
			continue
		}
		if inObject {
			stack[top].wantKey = true
		}
		s, ok := tok.(string)
		if !inObject || key != "image" || !ok {
			continue
		}
		end := base + int(dec.InputOffset())
		start := end - len(s) - 1
		line := bytes.Count(src[:end], []byte("\n")) + 1
		if start < base+1 || string(src[start-1:end]) != `"`+s+`"` {
			skipped = append(skipped, ref.Skipped{Kind: KindTerraformImage, Line: line, Text: s, Reason: "string with escapes"})
			continue
		}
		fd, err := ref.Parse(KindTerraformImage, line, start, s)
		if err != nil {
			skipped = append(skipped, ref.Skipped{Kind: KindTerraformImage, Line: line, Text: s, Reason: "not an image reference"})
			continue
		}
		found = append(found, fd)
	}
	return found, skipped, nil
}
