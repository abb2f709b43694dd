package kinds

import (
	"bufio"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCorpus: every file of testdata/corpus (real files, see SOURCES) is
// found by its path as a kind, and its finder lists exactly the references
// testdata/corpus/EXPECT lists for it ("path:line text"), nothing else.
func TestCorpus(t *testing.T) {
	expect := map[string][]string{}
	f, err := os.Open("testdata/corpus/EXPECT")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		loc, text, _ := strings.Cut(line, " ")
		p, _, _ := strings.Cut(loc, ":")
		expect[p] = append(expect[p], loc+" "+text)
	}
	files := 0
	err = filepath.WalkDir("testdata/corpus", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Dir(p) == "testdata/corpus" {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, "testdata/corpus/"))
		_, inRepo, _ := strings.Cut(rel, "/")
		k, ok := Of(inRepo, nil)
		if !ok || k.Sniff != nil {
			t.Errorf("%s: not found by its name", rel)
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		found, _, err := k.Finder.Find(context.Background(), p, src)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		var got []string
		for _, fd := range found {
			got = append(got, rel+":"+strconv.Itoa(fd.Line)+" "+fd.Text)
		}
		if os.Getenv("KINDS_CORPUS") != "" {
			t.Logf("%s (%s)\n%s", rel, k.Name(), strings.Join(got, "\n"))
		}
		if !slices.Equal(got, expect[rel]) {
			t.Errorf("%s (%s): found\n%s\nwant\n%s", rel, k.Name(), strings.Join(got, "\n"), strings.Join(expect[rel], "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no corpus files")
	}
}
