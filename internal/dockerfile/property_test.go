package dockerfile

import (
	"bytes"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
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
	var edits []ref.Edit
	for _, r := range f.Refs {
		if string(src[r.Start:r.End]) != r.Text {
			t.Fatalf("span [%d,%d) = %q, want %q", r.Start, r.End, src[r.Start:r.End], r.Text)
		}
		if strings.Contains(r.Text, "$") || strings.EqualFold(r.Text, "scratch") {
			t.Fatalf("pinned a variable or scratch: %q", r.Text)
		}
		if r.DigestStart < 0 {
			edits = append(edits, ref.Edit{Start: r.End, End: r.End, Text: digest})
		}
	}
	out, err := ref.Apply(src, edits)
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
	checkInstructions(t, before, after)
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

// checkInstructions compares what buildkit builds from both files: each
// stage's base, each COPY --from and each global ARG default may only gain
// the digest, and only where it names an image (not a stage, scratch or a
// variable); heredoc bodies are unchanged.
func checkInstructions(t *testing.T, before, after *parser.Result) {
	t.Helper()
	for i, n := range before.AST.Children {
		m := after.AST.Children[i]
		if len(n.Heredocs) != len(m.Heredocs) {
			t.Fatalf("line %d: heredocs changed", n.StartLine)
		}
		for j := range n.Heredocs {
			if n.Heredocs[j].Content != m.Heredocs[j].Content {
				t.Fatalf("line %d: heredoc body changed", n.StartLine)
			}
		}
	}
	bs, bargs, err1 := instructions.Parse(before.AST, nil)
	as, aargs, err2 := instructions.Parse(after.AST, nil)
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("instructions.Parse: before %v, after %v", err1, err2)
	}
	if err1 != nil {
		return
	}
	stages := map[string]bool{}
	for _, st := range bs {
		if st.Name != "" {
			stages[strings.ToLower(st.Name)] = true
		}
	}
	same := func(what, b, a string, mayPin bool) {
		if a == b {
			return
		}
		if a != b+digest || !mayPin {
			t.Fatalf("%s: %q became %q", what, b, a)
		}
	}
	earlier := map[string]bool{}
	for i, st := range bs {
		base := strings.ToLower(st.BaseName)
		same("FROM", st.BaseName, as[i].BaseName, !earlier[base] && base != "scratch" && !strings.Contains(base, "$"))
		if st.Name != "" {
			earlier[strings.ToLower(st.Name)] = true
		}
		for j, c := range st.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok {
				acp := as[i].Commands[j].(*instructions.CopyCommand)
				_, numeric := strconv.Atoi(cp.From)
				same("COPY --from", cp.From, acp.From, cp.From != "" && !stages[strings.ToLower(cp.From)] && numeric != nil && !strings.Contains(cp.From, "$"))
			}
		}
	}
	for i, a := range bargs {
		for j, kv := range a.Args {
			b, c := "", ""
			if kv.Value != nil {
				b = *kv.Value
			}
			if v := aargs[i].Args[j].Value; v != nil {
				c = *v
			}
			b, c = unquote(b), unquote(c)
			same("ARG "+kv.Key, b, c, !stages[strings.ToLower(b)])
		}
	}
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}
