package yamlref_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/kinds"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/yamlref"
)

// corpusDir holds real-world YAML and JSON files and EXPECT.md, which says
// per file which references a careful tool pins (CI has it; the project
// must build and test without it).
const corpusDir = "../../../shared/corpus/yaml"

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
	if k, ok := kinds.Of(rel, nil); ok && k.Sniff == nil {
		return k.Name(), true
	}
	return yamlref.Sniff(rel, src)
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
			found, skipped, err := yamlref.Find(kind, rel, src)
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
			yamlref.CheckPins(t, kind, rel, src, found)
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
