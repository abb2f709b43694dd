package pin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker-cghistory/docker-cghistory/internal/tagver"
	"gotest.tools/v3/assert"
)

// Many references to one repository, under concurrent resolution: its tag
// list is read once, and every reference moves.
func TestBumpListsTagsOncePerRepository(t *testing.T) {
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/python", "3.12", t0, "linux/amd64")
	s.TagAs(t, "chainguard/python", img.Digest, t0, "3.13", "3.12-dev", "3.13-dev", "3.12.1", "3.13.2")
	dir := t.TempDir()
	var df strings.Builder
	for _, tag := range []string{"3.12", "3.12-dev", "3.12.1", "3.12", "3.12-dev"} {
		df.WriteString("FROM " + s.Ref("chainguard/python", tag) + "\n")
	}
	write(t, dir, "Dockerfile", df.String())
	s.ResetCounts()
	r := resolver(t)
	p, err := run(t, r, Options{Bump: BumpRules{{Level: tagver.Minor}}, Tags: &OnceLister{Lister: r.Registry}, Jobs: 4}, dir)
	assert.NilError(t, err)
	assert.Equal(t, s.Counts().Tags, 1)
	var moves []string
	for _, c := range p.Changes() {
		moves = append(moves, c.OldTag+"→"+c.NewTag)
	}
	assert.DeepEqual(t, moves, []string{"3.12→3.13", "3.12-dev→3.13-dev", "3.12.1→3.13.2", "3.12→3.13", "3.12-dev→3.13-dev"})
}

func TestBumpRules(t *testing.T) {
	rules, err := ParseBumpRules([]string{"patch", "cgr.dev/chainguard/python:*=minor", "*/*/go:*=none"})
	assert.NilError(t, err)
	for name, want := range map[string]tagver.Level{
		"cgr.dev/chainguard/python:3.12": tagver.Minor,
		"cgr.dev/chainguard/go:1.23":     tagver.None,
		"nginx:1.27":                     tagver.Patch,
	} {
		img, err := ref.ParseImage(name)
		assert.NilError(t, err)
		assert.Equal(t, rules.Level(img), want, name)
	}
	_, err = ParseBumpRules([]string{"[=minor"})
	assert.ErrorContains(t, err, "a bad glob")
	_, err = ParseBumpRules([]string{"x=micro"})
	assert.ErrorContains(t, err, `unknown bump level "micro"`)
}

// A registry without the tag history API still bumps (ordering needs no
// build time); --cooldown ages each build by its image config's "created"
// (a newer one is passed over) and, where the config has no time either,
// says it cannot age the build, naming the registry.
func TestBumpWithoutHistoryAPI(t *testing.T) {
	s := registrytest.New(t, registrytest.WithoutHistory())
	s.Push(t, "library/python", "3.12", t0, "linux/amd64")
	p313 := s.Push(t, "library/python", "3.13", t0.Add(time.Hour), "linux/amd64")
	p314 := s.Push(t, "library/python", "3.14", t0.Add(47*time.Hour), "linux/amd64")
	s.Push(t, "library/node", "22", time.Time{}, "linux/amd64")
	s.Push(t, "library/node", "24", time.Time{}, "linux/amd64")
	dir, nodeDir := t.TempDir(), t.TempDir()
	df := write(t, dir, "Dockerfile", "FROM "+s.Ref("library/python", "3.12")+"\n")
	nf := write(t, nodeDir, "Dockerfile", "FROM "+s.Ref("library/node", "22")+"\n")
	r := resolver(t)
	r.Now = func() time.Time { return t0.Add(48 * time.Hour) }
	opts := Options{Bump: BumpRules{{Level: tagver.Major}}, Tags: &OnceLister{Lister: r.Registry}}
	r.Cooldown = 24 * time.Hour

	_, err := run(t, r, opts, nodeDir)
	assert.Assert(t, errors.Is(err, ErrNoHistory), "%v", err)
	assert.ErrorContains(t, err, s.Host)
	assert.ErrorContains(t, err, "cannot age the build")
	assert.Equal(t, read(t, nf), "FROM "+s.Ref("library/node", "22")+"\n")

	p, err := run(t, r, opts, dir)
	assert.NilError(t, err)
	assert.Equal(t, read(t, df), "FROM "+s.Ref("library/python", "3.13")+"@"+p313.Digest.String()+"\n")
	assert.Assert(t, len(p.Notes) == 1 && strings.Contains(p.Notes[0].Reason, "passed over 3.14: ") &&
		strings.Contains(p.Notes[0].Reason, "created 2026-11-03T11:00:00Z"), "%+v", p.Notes)

	r.Cooldown = 0
	write(t, dir, "Dockerfile", "FROM "+s.Ref("library/python", "3.12")+"\n")
	_, err = run(t, r, opts, dir)
	assert.NilError(t, err)
	assert.Equal(t, read(t, df), "FROM "+s.Ref("library/python", "3.14")+"@"+p314.Digest.String()+"\n")
}

// A Dockerfile ARG default that holds the tag (ARG PY=3.12 … FROM
// python:${PY}) is pinned and moved in the ARG's value, quotes kept:
// the FROM line, with its variable, stays as written.
func TestBumpDockerfileTagArg(t *testing.T) {
	s := registrytest.New(t)
	old := s.Push(t, "library/python", "3.12", t0, "linux/amd64")
	img := s.Push(t, "library/python", "3.13", t0.Add(time.Hour), "linux/amd64")
	dir := t.TempDir()
	from := "FROM " + s.Ref("library/python", "${PY}") + " AS build\nFROM " + s.Ref("library/python", "$PY") + "\n"
	df := write(t, dir, "Dockerfile", "ARG PY=\"3.12\" # python\n"+from)
	r := resolver(t)
	_, err := run(t, r, Options{}, dir)
	assert.NilError(t, err)
	assert.Equal(t, read(t, df), "ARG PY=\"3.12@"+old.Digest.String()+"\" # python\n"+from)

	p, err := run(t, r, Options{Bump: BumpRules{{Level: tagver.Minor}}, Tags: &OnceLister{Lister: r.Registry}}, dir)
	assert.NilError(t, err)
	assert.Equal(t, read(t, df), "ARG PY=\"3.13@"+img.Digest.String()+"\" # python\n"+from)
	cs := p.Changes()
	assert.Equal(t, len(cs), 1)
	assert.Equal(t, cs[0].OldTag+"→"+cs[0].NewTag, "3.12→3.13")
	assert.Equal(t, cs[0].New, s.Ref("library/python", "3.13")+"@"+img.Digest.String())
}
