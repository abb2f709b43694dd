package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCorpusCheckThroughDocker: docker cgpin --check over the corpus of
// real files (internal/kinds/testdata/corpus, sources in SOURCES) lists
// every reference its EXPECT file names and nothing else. The corpus names
// public registries; every request goes to a proxy on loopback that hangs
// up, so each reference is listed with a registry error and nothing leaves
// the machine.
func TestCorpusCheckThroughDocker(t *testing.T) {
	t.Parallel()
	corpus, err := filepath.Abs("../internal/kinds/testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	f, err := os.Open(filepath.Join(corpus, "EXPECT"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	proxy := "http://" + l.Addr().String()

	d := newDockerEnv(t, "")
	r := d.run("", []string{"HTTPS_PROXY=" + proxy, "HTTP_PROXY=" + proxy, "NO_PROXY="}, "cgpin", "--check", corpus)
	if r.code == 0 {
		t.Fatalf("--check passed over a corpus of unpinned references:\n%s", r.stdout)
	}
	// Each reference: "CORPUS/path:line: text: why".
	var got []string
	for _, line := range strings.Split(r.stdout+r.stderr, "\n") {
		rest, ok := strings.CutPrefix(line, corpus+string(filepath.Separator))
		if !ok {
			continue
		}
		loc, after, _ := strings.Cut(rest, ": ")
		text, _, _ := strings.Cut(after, ": ")
		got = append(got, filepath.ToSlash(loc)+" "+text)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("--check listed\n%s\nwant (EXPECT)\n%s\nstdout:\n%s\nstderr:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), r.stdout, r.stderr)
	}
}
