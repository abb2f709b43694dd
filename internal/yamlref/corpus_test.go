package yamlref

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// corpusDir holds real-world YAML and JSON files and EXPECT.md, which says
// per file which references a careful tool pins (CI has it; the project
// must build and test without it).
const corpusDir = "../../../shared/corpus/yaml"

var fixed = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("d", 64)}

type expectation struct {
	must, allowed map[int]string // line → reference text
	split         map[int]string // line → a Helm chart's repository field
}

var entryLine = regexp.MustCompile("^  - L(\\d+) `([^`]*)`")

// readExpect parses EXPECT.md: FIND and ANCHOR SCALAR entries must be
// found; ALREADY PINNED ones may be (they are left byte-identical).
func readExpect(t *testing.T) map[string]*expectation {
	f, err := os.Open(filepath.Join(corpusDir, "EXPECT.md"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("../shared/corpus/yaml is missing in CI: %v", err)
		}
		t.Skipf("no corpus: %v", err)
	}
	defer f.Close()
	out := map[string]*expectation{}
	var cur *expectation
	category := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## `"):
			cur = &expectation{must: map[int]string{}, allowed: map[int]string{}, split: map[int]string{}}
			out[strings.Trim(strings.TrimPrefix(line, "## "), "`")] = cur
		case strings.HasPrefix(line, "- "):
			category = line
		case cur != nil:
			m := entryLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			n := 0
			for _, c := range m[1] {
				n = n*10 + int(c-'0')
			}
			text := cleanText(m[2])
			switch {
			case strings.HasPrefix(category, "- FIND"), strings.HasPrefix(category, "- ANCHOR SCALAR"):
				cur.must[n], cur.allowed[n] = text, text
			case strings.HasPrefix(category, "- ALREADY PINNED"), category == "- AMBIGUOUS:":
				// Pinned ones are found and left as they are; plain
				// ambiguous ones (an image field whose value may be a build
				// placeholder) are found, and resolving them says which.
				cur.allowed[n] = text
			case strings.HasPrefix(category, "- SPLIT SPEC"):
				// cgpin pins Helm's split image fields (their digest or tag).
				cur.split[n] = text
			}
		}
	}
	return out
}

// cleanText is an EXPECT entry's reference: anchor, quotes and docker://
// dropped.
func cleanText(s string) string {
	if strings.HasPrefix(s, "&") {
		_, s, _ = strings.Cut(s, " ")
	}
	s = strings.TrimSuffix(strings.TrimSpace(s), ",")
	s = strings.Trim(s, `"'`)
	return strings.TrimPrefix(s, "docker://")
}

// namedKinds are corpus files whose names say nothing: a user names their
// kind with --kind.
var namedKinds = map[string]ref.FileKind{
	"docker__compose/pkg/e2e/fixtures/publish/oci/extends.yaml":     ref.Compose,
	"docker__cli/e2e/stack/testdata/full-stack.yml":                 ref.Compose,
	"CircleCI-Public__node-orb/src/examples/run_matrix_testing.yml": ref.CircleCI,
}

// kindFor is the kind a walk gives a corpus file (Helm values count as
// Helm, as when passed explicitly).
func kindFor(rel string, src []byte) (ref.FileKind, bool) {
	if k, ok := namedKinds[rel]; ok {
		return k, true
	}
	if k, ok := KindOf(rel); ok {
		return k, true
	}
	return Sniff(rel, src)
}

func TestCorpus(t *testing.T) {
	expect := readExpect(t)
	var files, withRefs, refs, left int
	reasons := map[string]int{}
	for rel, exp := range expect {
		src, err := os.ReadFile(filepath.Join(corpusDir, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		files++
		kind, ok := kindFor(rel, src)
		got := map[int]string{}
		if ok {
			found, skipped, err := Find(kind, rel, src)
			if err != nil {
				if strings.Contains(rel, "/templates/") {
					continue // Helm templates are not YAML: never edited
				}
				t.Errorf("%s (%s): %v", rel, kind, err)
				continue
			}
			for _, f := range found {
				got[f.Line] = f.Text
			}
			for _, s := range skipped {
				left++
				reasons[s.Reason]++
			}
			checkPins(t, kind, rel, src, found)
		}
		for line, text := range exp.must {
			if !ok {
				break // a kind cgpin does not read: never edited
			}
			if got[line] != text {
				t.Errorf("%s (%s): L%d: want %q found, got %q", rel, kind, line, text, got[line])
			}
		}
		for line, text := range got {
			if split := exp.split[line]; split != "" && strings.Contains(text, split+":") {
				continue
			}
			if exp.allowed[line] != text {
				t.Errorf("%s (%s): L%d: found %q, which EXPECT.md does not list", rel, kind, line, text)
			}
		}
		if len(got) > 0 {
			withRefs++
			refs += len(got)
		}
	}
	var rs []string
	for r, n := range reasons {
		rs = append(rs, r+": "+itoa(n))
	}
	sort.Strings(rs)
	t.Logf("corpus: %d files, %d with references, %d references pinned, %d left alone (%s)", files, withRefs, refs, left, strings.Join(rs, "; "))
}

func itoa(n int) string { return strconv.Itoa(n) }

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
