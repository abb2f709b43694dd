package pin

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gotest.tools/v3/assert"
)

// fixedResolver pins every tag to one digest: the corpus names images on
// registries tests never reach.
type fixedResolver struct{ d v1.Hash }

func (r fixedResolver) Resolve(context.Context, name.Tag) (Resolution, error) {
	return Resolution{Digest: r.d}, nil
}

// TestYAMLCorpus walks a copy of ../shared/corpus/yaml as `docker cgpin .`
// would, pins everything to a fixed digest, and checks that only files of
// known kinds changed, that Helm templates did not, and that a second run
// changes nothing.
func TestYAMLCorpus(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "corpus", "yaml")
	if _, err := os.Stat(src); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("../shared/corpus/yaml is missing in CI: %v", err)
		}
		t.Skip("no corpus")
	}
	dir := t.TempDir()
	orig := map[string][]byte{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		orig[rel] = b
		return os.WriteFile(write(t, dir, rel, ""), b, 0o644)
	})
	assert.NilError(t, err)
	sources, err := Collect([]string{dir}, nil, nil)
	assert.NilError(t, err)
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("e", 64)}
	p, err := Build(context.Background(), sources, fixedResolver{d}, Options{Update: true})
	assert.NilError(t, err)
	assert.NilError(t, p.Write())

	kinds := map[ref.FileKind]int{}
	for _, f := range p.Files {
		kinds[f.Kind]++
	}
	changedFiles := map[string]bool{}
	for _, f := range p.Changed() {
		rel, _ := filepath.Rel(dir, f.Path)
		changedFiles[rel] = true
	}
	for rel, b := range orig {
		got, err := os.ReadFile(filepath.Join(dir, rel))
		assert.NilError(t, err)
		if !changedFiles[rel] {
			assert.Assert(t, string(got) == string(b), "%s changed without a change planned", rel)
		}
		helmTemplate := strings.Contains(rel, "/templates/") && !strings.HasSuffix(rel, ".gitlab-ci.yml")
		assert.Assert(t, !helmTemplate || !changedFiles[rel], "Helm template %s edited", rel)
	}
	reasons := map[string]int{}
	for _, n := range p.Notes {
		r := n.Reason
		if strings.HasPrefix(r, "service ") {
			r = "Compose service builds this image"
		}
		reasons[r]++
	}
	var rs []string
	for r, n := range reasons {
		rs = append(rs, r+": "+itoa(n))
	}
	sort.Strings(rs)
	var ks []string
	for k, n := range kinds {
		ks = append(ks, string(k)+" "+itoa(n))
	}
	sort.Strings(ks)
	t.Logf("yaml corpus: %d files read (%s), %d changed, %d references pinned, %d left alone (%s)",
		len(p.Files), strings.Join(ks, ", "), len(changedFiles), len(p.Changes()), len(p.Notes), strings.Join(rs, "; "))
	assert.Assert(t, len(p.Changes()) > 100)

	again, err := Build(context.Background(), sources, fixedResolver{d}, Options{Update: true})
	assert.NilError(t, err)
	assert.Equal(t, len(again.Changes()), 0, "second run: %+v", again.Changes())
}

func itoa(n int) string { return strconv.Itoa(n) }
