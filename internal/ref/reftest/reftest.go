// Package reftest checks a ref.Finder the way cgpin uses it, for the tests
// of the packages that implement one.
package reftest

import (
	"context"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Fixed is the digest PinAll pins every reference to.
var Fixed = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("d", 64)}

// PinAll pins every reference f finds in src (the file p) to Fixed, checks
// that each edit's span holds the reference's text and that a second run
// finds every reference pinned, and returns the pinned file, the texts
// pinned and the references left alone ("text (reason)").
func PinAll(t testing.TB, f ref.Finder, p string, src []byte) (string, []string, []string) {
	t.Helper()
	found, skipped, err := f.Find(context.Background(), p, src)
	if err != nil {
		t.Fatal(err)
	}
	var edits []ref.Edit
	var pins, left []string
	for _, fd := range found {
		e, _ := fd.Pin(Fixed)
		if string(src[e.Start:e.End]) != fd.Text {
			t.Fatalf("L%d: span %q is not %q", fd.Line, src[e.Start:e.End], fd.Text)
		}
		edits = append(edits, e)
		pins = append(pins, fd.Text)
	}
	for _, s := range skipped {
		left = append(left, s.Text+" ("+s.Reason+")")
	}
	out, err := ref.Apply(src, edits)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := f.Find(context.Background(), p, out)
	if err != nil || len(again) != len(found) {
		t.Fatalf("second run: %d found of %d, %v\n%s", len(again), len(found), err, out)
	}
	for _, fd := range again {
		if fd.Image.Digest != Fixed {
			t.Errorf("L%d: %q not pinned on the second run", fd.Line, fd.Text)
		}
	}
	return string(out), pins, left
}
