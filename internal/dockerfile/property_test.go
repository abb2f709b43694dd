package dockerfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// checkPinProperty pins every reference of src to a fixed digest and checks
// what the pinner promises: only "@sha256:…" insertions right after image
// references, the result parses to the same instructions, and a second pass
// changes nothing. It reports whether src was a Dockerfile at all.
func checkPinProperty(t *testing.T, src []byte) bool {
	t.Helper()
	f, err := Find(src)
	if err != nil {
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
		return false
	}
	var edits []Edit
	for _, r := range f.Refs {
		if string(src[r.Start:r.End]) != r.Text {
			t.Fatalf("span [%d,%d) = %q, want %q", r.Start, r.End, src[r.Start:r.End], r.Text)
		}
		if strings.Contains(r.Text, "$") || strings.EqualFold(r.Text, "scratch") {
			t.Fatalf("pinned a variable or scratch: %q", r.Text)
		}
		if r.DigestStart < 0 {
			edits = append(edits, Edit{Start: r.End, End: r.End, Text: digest})
		}
	}
	out, err := Apply(src, edits)
	if err != nil {
		t.Fatal(err)
	}
	// Byte-identical outside the insertions.
	if got := bytes.ReplaceAll(out, []byte(digest), nil); !bytes.Equal(got, src) && !bytes.Contains(src, []byte(digest)) {
		t.Fatalf("output differs from input outside the inserted digests")
	}
	// Same instructions, but for the digests.
	before, err1 := parser.Parse(bytes.NewReader(src))
	after, err2 := parser.Parse(bytes.NewReader(out))
	if err1 != nil || err2 != nil {
		t.Fatalf("parse before %v, after %v", err1, err2)
	}
	if b, a := before.AST.Dump(), strings.ReplaceAll(after.AST.Dump(), digest, ""); b != a {
		t.Fatalf("instructions changed:\nbefore %s\nafter  %s", b, a)
	}
	// Idempotent.
	f2, err := Find(out)
	if err != nil {
		t.Fatalf("second pass: %v", err)
	}
	for _, r := range f2.Refs {
		if r.DigestStart < 0 {
			t.Fatalf("second pass finds %q unpinned", r.Text)
		}
	}
	return true
}

// corpusDir is ../shared/corpus beside the module, when present.
func corpusDir() string {
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(d), "shared", "corpus", "dockerfiles")
		}
	}
	return ""
}

func corpusFiles(t testing.TB) (valid, negative []string) {
	dir := corpusDir()
	if _, err := os.Stat(dir); err != nil {
		return nil, nil
	}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		if filepath.Base(p) == "result" {
			return nil // buildkit's expected parse output, not a Dockerfile
		}
		if strings.Contains(p, "testfiles-negative") {
			negative = append(negative, p)
		} else {
			valid = append(valid, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return valid, negative
}

func TestCorpus(t *testing.T) {
	valid, negative := corpusFiles(t)
	if len(valid) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("../shared/corpus/dockerfiles is missing in CI")
		}
		t.Skip("no ../shared/corpus/dockerfiles")
	}
	pinned, refs := 0, 0
	for _, p := range valid {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimPrefix(p, corpusDir()+"/"), func(t *testing.T) {
			if _, err := parser.Parse(bytes.NewReader(src)); err != nil {
				t.Skipf("buildkit does not parse it either: %v", err)
			}
			if !checkPinProperty(t, src) {
				t.Fatal("Find failed on a file buildkit parses")
			}
			f, _ := Find(src)
			pinned++
			refs += len(f.Refs)
		})
	}
	for _, p := range negative {
		src, _ := os.ReadFile(p)
		if _, err := Find(src); err == nil {
			t.Errorf("%s: must-fail input accepted", p)
		} else if strings.TrimSpace(err.Error()) == "" {
			t.Errorf("%s: empty error", p)
		}
	}
	t.Logf("%d corpus files pinned (%d references), %d must-fail inputs rejected", pinned, refs, len(negative))
	if refs < 50 {
		t.Errorf("only %d references found in the corpus: the finder is missing things", refs)
	}
}

func FuzzPin(f *testing.F) {
	for _, s := range []string{
		"FROM python:3.12\n", "from a as b\nfrom b\n", "# escape=`\nFROM `\n  x:1\n",
		"ARG B=x:1\nFROM ${B}\n", "FROM a\nCOPY --from=b:1 / /\nRUN --mount=from=c:2,target=/x true\n",
		"\xEF\xBB\xBFFROM a\r\n", "FROM a \\\n # c\n\n AS b\n", "RUN <<EOF\nFROM x\nEOF\n",
	} {
		f.Add([]byte(s))
	}
	valid, _ := corpusFiles(f)
	for _, p := range valid {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if bytes.Contains(src, []byte(digest)) {
			return
		}
		checkPinProperty(t, src)
	})
}
