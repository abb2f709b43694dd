package commands

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"gotest.tools/v3/assert"
)

func TestPinModes(t *testing.T) {
	s := registrytest.New(t)
	now := time.Now().UTC().Truncate(time.Second)
	old := s.Push(t, "chainguard/go", "latest", now.Add(-4*24*time.Hour), "linux/amd64")
	cur := s.Push(t, "chainguard/go", "latest", now.Add(-time.Hour), "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	orig := "FROM " + ref + " AS build\nFROM build\n"
	assert.NilError(t, os.WriteFile(df, []byte(orig), 0o644))
	readDF := func() string { b, err := os.ReadFile(df); assert.NilError(t, err); return string(b) }

	// --check: lists what would change, writes nothing, fails.
	cli, out, errb := newTestCLI(t, `{}`)
	err := runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Check: true, Jobs: 8}})
	assert.ErrorContains(t, err, "1 reference is not pinned")
	assert.Equal(t, out.String(), df+":1  "+ref+"\n")
	assert.Equal(t, readDF(), orig)

	// --dry-run: a unified diff, nothing written.
	out.Reset()
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{df}, PinFlags: config.PinFlags{DryRun: true, Jobs: 8}}))
	assert.Assert(t, strings.Contains(out.String(), "-FROM "+ref+" AS build\n+FROM "+ref+"@"+cur.Digest.String()+" AS build\n"), out.String())
	assert.Equal(t, readDF(), orig)

	// Pin, with the JSON list of changes.
	out.Reset()
	errb.Reset()
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Format: "json", Jobs: 8}}))
	var change map[string]any
	assert.NilError(t, json.Unmarshal(out.Bytes(), &change))
	assert.Equal(t, change["Line"], float64(1))
	assert.Equal(t, change["New"], ref+"@"+cur.Digest.String())
	assert.Equal(t, readDF(), "FROM "+ref+"@"+cur.Digest.String()+" AS build\nFROM build\n")
	assert.Assert(t, strings.Contains(errb.String(), "Pinned 1 reference in 1 of 1 file"), errb.String())

	// --check now passes.
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Check: true, Jobs: 8}}))

	// --at rolls back (and implies --update); the default line format.
	out.Reset()
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{At: "2d", Jobs: 8}}))
	assert.Equal(t, out.String(), df+":1  "+ref+"@"+cur.Digest.String()+" → "+ref+"@"+old.Digest.String()+"\n")

	// -q prints nothing.
	out.Reset()
	errb.Reset()
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Update: true, Quiet: true, Jobs: 8}}))
	assert.Equal(t, out.String()+errb.String(), "")
	assert.Equal(t, readDF(), "FROM "+ref+"@"+cur.Digest.String()+" AS build\nFROM build\n")
}

func TestPinFlagErrors(t *testing.T) {
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644))
	cases := []struct {
		opts pinOptions
		want string
	}{
		{pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{At: "soon", Jobs: 8}}, "--at: invalid time"},
		{pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Cooldown: "3x", Jobs: 8}}, "--cooldown: invalid duration"},
		{pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Platform: "arm64", Jobs: 8}}, "want os/arch"},
		{pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Jobs: 0}}, "--jobs must be at least 1"},
		{pinOptions{paths: []string{filepath.Join(dir, "nope")}, PinFlags: config.PinFlags{Jobs: 8}}, "no such file"},
		{pinOptions{paths: []string{t.TempDir()}, PinFlags: config.PinFlags{Jobs: 8}}, "no Dockerfiles found"},
	}
	for _, tc := range cases {
		cli, _, _ := newTestCLI(t, `{}`)
		assert.ErrorContains(t, runPinOpts(context.Background(), cli, tc.opts), tc.want)
	}
}
