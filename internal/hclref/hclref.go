// Package hclref finds image references in HCL files — Docker Bake,
// Terraform and Nomad — with github.com/hashicorp/hcl/v2, whose byte
// ranges let a reference be pinned in place: only its bytes change.
// Interpolations, template directives and heredocs are left alone, with
// the reason.
package hclref

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// parse reads src as HCL native syntax. A BOM is skipped (offsets stay
// offsets in src); a syntax error names its line.
func parse(p string, src []byte) (*hclsyntax.Body, int, error) {
	if bytes.IndexByte(src, 0) >= 0 {
		return nil, 0, errors.New("binary file (contains NUL bytes)")
	}
	bom := 0
	if bytes.HasPrefix(src, []byte("\xEF\xBB\xBF")) {
		bom = 3
	}
	f, diags := hclsyntax.ParseConfig(src[bom:], p, hcl.InitialPos)
	if diags.HasErrors() {
		d := diags[0]
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		return nil, 0, fmt.Errorf("line %d: cannot parse HCL: %s: %s", line, d.Summary, d.Detail)
	}
	return f.Body.(*hclsyntax.Body), bom, nil
}

// finder collects one file's references.
type finder struct {
	src     []byte
	bom     int
	found   []ref.Found
	skipped []ref.Skipped
}

// literal returns the span [start, end) of a string expression that is one
// literal, or why it is not (an interpolation, a template directive, a
// heredoc, escapes).
func (f *finder) literal(e hclsyntax.Expression) (start, end int, text, reason string) {
	t, ok := e.(*hclsyntax.TemplateExpr)
	if !ok {
		if w, ok := e.(*hclsyntax.TemplateWrapExpr); ok {
			return 0, 0, f.text(w.SrcRange), "interpolation"
		}
		return 0, 0, f.text(e.Range()), "not a string literal (an expression)"
	}
	text = f.text(t.SrcRange)
	if strings.HasPrefix(text, "<<") {
		return 0, 0, firstLine(text), "heredoc"
	}
	if len(t.Parts) != 1 {
		return 0, 0, text, "interpolation or template directive"
	}
	lit, ok := t.Parts[0].(*hclsyntax.LiteralValueExpr)
	if !ok || lit.Val.Type() != cty.String {
		return 0, 0, text, "interpolation or template directive"
	}
	start, end = lit.SrcRange.Start.Byte+f.bom, lit.SrcRange.End.Byte+f.bom
	if string(f.src[start:end]) != lit.Val.AsString() {
		return 0, 0, text, "string with escapes"
	}
	return start, end, lit.Val.AsString(), ""
}

func (f *finder) text(r hcl.Range) string {
	return string(f.src[r.Start.Byte+f.bom : r.End.Byte+f.bom])
}

func firstLine(s string) string { s, _, _ = strings.Cut(s, "\n"); return strings.TrimSpace(s) }

// image takes string expression e as a reference of kind, after prefix
// (docker-image://) when one is wanted; quiet says a value that is no
// image is passed over without a note (a Bake variable of another use).
func (f *finder) image(e hclsyntax.Expression, kind ref.Kind, prefix string, quiet bool) {
	line := e.Range().Start.Line
	start, end, text, reason := f.literal(e)
	if reason != "" {
		if !quiet {
			f.skipped = append(f.skipped, ref.Skipped{Kind: kind, Line: line, Text: text, Reason: reason})
		}
		return
	}
	if prefix != "" {
		rest, ok := strings.CutPrefix(text, prefix)
		if !ok {
			return
		}
		start += len(prefix)
		text = rest
	}
	fd, err := ref.Parse(kind, line, start, string(f.src[start:end]))
	if err != nil {
		if !quiet {
			f.skipped = append(f.skipped, ref.Skipped{Kind: kind, Line: line, Text: text, Reason: "not an image reference"})
		}
		return
	}
	f.found = append(f.found, fd)
}

// key is an object item's key as written (a bare word or a quoted string).
func key(e hclsyntax.Expression) string {
	if k := hcl.ExprAsKeyword(e); k != "" {
		return k
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// objects calls fn for every item of every object in e, at any depth
// (lists and objects nested in it, a function call's arguments).
func objects(e hclsyntax.Expression, fn func(key string, v hclsyntax.Expression)) {
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		for _, it := range e.Items {
			fn(key(it.KeyExpr), it.ValueExpr)
			objects(it.ValueExpr, fn)
		}
	case *hclsyntax.TupleConsExpr:
		for _, x := range e.Exprs {
			objects(x, fn)
		}
	case *hclsyntax.FunctionCallExpr:
		for _, x := range e.Args {
			objects(x, fn)
		}
	}
}

// blocks calls fn for every block under b, at any depth, with its parents.
func blocks(b *hclsyntax.Body, parents []*hclsyntax.Block, fn func(blk *hclsyntax.Block, parents []*hclsyntax.Block)) {
	for _, blk := range b.Blocks {
		fn(blk, parents)
		blocks(blk.Body, append(parents, blk), fn)
	}
}
