package yamlref

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var fixed = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("d", 64)}

// checkPins pins every reference to a fixed digest and checks the output:
// equal to the input outside the edited spans, every reference found again
// and pinned, and a second run changes nothing.
func checkPins(t *testing.T, kind ref.FileKind, rel string, src []byte, found []ref.Found) {
	t.Helper()
	out, edits := pinAll(t, src, found)
	if len(edits) == 0 {
		return
	}
	// Outside the edits, the bytes are the input's.
	var a, b bytes.Buffer
	pos := 0
	for _, e := range edits {
		a.Write(src[pos:e.Start])
		pos = e.End
	}
	a.Write(src[pos:])
	pos, shift := 0, 0
	for _, e := range edits {
		b.Write(out[pos : e.Start+shift])
		pos = e.Start + shift + len(e.Text)
		shift += len(e.Text) - (e.End - e.Start)
	}
	b.Write(out[pos:])
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("%s: bytes outside the edits changed", rel)
	}
	again, _, err := Find(kind, rel, out)
	if err != nil {
		t.Fatalf("%s: pinned output does not parse: %v", rel, err)
	}
	if len(again) != len(found) {
		t.Errorf("%s: %d references before pinning, %d after", rel, len(found), len(again))
	}
	for _, f := range again {
		if f.Image.Digest != fixed {
			t.Errorf("%s: L%d %s not pinned after pinning", rel, f.Line, f.Text)
		}
	}
	if twice, _ := pinAll(t, out, again); !bytes.Equal(twice, out) {
		t.Errorf("%s: a second run changed the file", rel)
	}
}

// pinAll pins every reference that is not pinned to fixed yet.
func pinAll(t *testing.T, src []byte, found []ref.Found) ([]byte, []ref.Edit) {
	t.Helper()
	var edits []ref.Edit
	for _, f := range found {
		if f.Image.Digest == fixed {
			continue
		}
		e, _ := f.Pin(fixed)
		edits = append(edits, e)
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].Start < edits[j].Start })
	out, err := ref.Apply(src, edits)
	if err != nil {
		t.Fatal(err)
	}
	return out, edits
}
