package commands

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker/cli/cli/command"
	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
)

// testCLI is a real docker CLI whose config file comes from the test.
type testCLI struct {
	*command.DockerCli
	cfg *configfile.ConfigFile
}

func (c testCLI) ConfigFile() *configfile.ConfigFile { return c.cfg }

func newTestCLI(t *testing.T, configJSON string) (testCLI, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	t.Setenv("CGHISTORY_CACHE_DIR", t.TempDir())
	t.Setenv("CGHISTORY_NAMESPACE", "")
	t.Setenv("DEBUG", "")
	var out, errb bytes.Buffer
	d, err := command.NewDockerCli(command.WithOutputStream(&out), command.WithErrorStream(&errb),
		command.WithInputStream(io.NopCloser(strings.NewReader(""))))
	assert.NilError(t, err)
	cf, err := dockerconfig.LoadFromReader(strings.NewReader(configJSON))
	assert.NilError(t, err)
	return testCLI{DockerCli: d, cfg: cf}, &out, &errb
}

var (
	now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	dg  = func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
)

func historyRegistry(t *testing.T) *registrytest.Server {
	s := registrytest.New(t)
	s.RecordHistory("chainguard/nginx", "latest", dg('a'), now.Add(-50*24*time.Hour))
	s.RecordHistory("chainguard/nginx", "latest", dg('b'), now.Add(-36*time.Hour))
	s.RecordHistory("chainguard/nginx", "latest", dg('c'), now.Add(-90*time.Minute))
	return s
}

func TestHistoryGolden(t *testing.T) {
	s := historyRegistry(t)
	cases := []struct {
		name string
		opts historyOptions
	}{
		{"history-table", historyOptions{}},
		{"history-no-trunc", historyOptions{HistoryFlags: config.HistoryFlags{NoTrunc: true}}},
		{"history-quiet", historyOptions{HistoryFlags: config.HistoryFlags{Quiet: true}}},
		{"history-json", historyOptions{HistoryFlags: config.HistoryFlags{Format: "json"}}},
		{"history-template", historyOptions{HistoryFlags: config.HistoryFlags{Format: "{{.UpdatedAt}} {{.Tag}} {{.Digest}}"}}},
		{"history-table-template", historyOptions{HistoryFlags: config.HistoryFlags{Format: "table {{.Digest}}\t{{.UpdatedSince}}"}}},
		{"history-last", historyOptions{HistoryFlags: config.HistoryFlags{Last: 2}}},
		{"history-since", historyOptions{HistoryFlags: config.HistoryFlags{Since: "2d"}}},
		{"history-until", historyOptions{HistoryFlags: config.HistoryFlags{Until: "2026-11-20"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cli, out, _ := newTestCLI(t, `{}`)
			opts := tc.opts
			opts.image = s.Ref("chainguard/nginx", "")
			opts.now = func() time.Time { return now }
			assert.NilError(t, runHistoryOpts(context.Background(), cli, opts))
			golden.Assert(t, strings.ReplaceAll(out.String(), s.Host, "REGISTRY"), tc.name+".golden")
		})
	}
}

func TestHistoryNamespace(t *testing.T) {
	s := historyRegistry(t)
	cli, out, _ := newTestCLI(t, fmt.Sprintf(`{"plugins":{"cghistory":{"namespace":%q}}}`, s.Host+"/chainguard"))
	assert.NilError(t, runHistoryOpts(context.Background(), cli, historyOptions{image: "nginx", HistoryFlags: config.HistoryFlags{Quiet: true, Last: 1}}))
	assert.Equal(t, out.String(), dg('c')+"\n")

	// The environment wins over config.json.
	other := registrytest.New(t)
	other.RecordHistory("cg/nginx", "latest", dg('d'), now)
	t.Setenv("CGHISTORY_NAMESPACE", other.Host+"/cg")
	out.Reset()
	assert.NilError(t, runHistoryOpts(context.Background(), cli, historyOptions{image: "nginx", HistoryFlags: config.HistoryFlags{Quiet: true}}))
	assert.Equal(t, out.String(), dg('d')+"\n")
}

func TestHistoryFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "requires 1 argument"},
		{[]string{"a", "b"}, "requires 1 argument"},
		{[]string{"--since", "soon", "nginx"}, `--since: invalid time "soon"`},
		{[]string{"--until", "-1d", "nginx"}, `--until: invalid time "-1d"`},
		{[]string{"--last", "-1", "nginx"}, "--last must not be negative"},
		{[]string{"--platform", "linux", "nginx"}, "want os/arch"},
		{[]string{"UPPER/Case"}, "invalid image reference"},
		{[]string{"--since", "2026-02-01", "--until", "2026-01-01", "nginx"}, "--since (2026-02-01T00:00:00Z) is after --until"},
		{[]string{"nginx@sha256:" + strings.Repeat("a", 64)}, "history follows a tag"},
		{[]string{"bad name!"}, "invalid image reference"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cli, _, _ := newTestCLI(t, `{}`)
			cmd := newHistoryCommand(cli)
			cmd.SetArgs(tc.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			assert.ErrorContains(t, cmd.Execute(), tc.want)
		})
	}
}

func TestTags(t *testing.T) {
	s := registrytest.New(t)
	for _, tag := range []string{"latest", "1.25", "sha256-" + strings.Repeat("e", 64) + ".att"} {
		s.Push(t, "chainguard/nginx", tag, now, "linux/amd64")
	}
	cli, out, _ := newTestCLI(t, `{}`)
	assert.NilError(t, runTags(context.Background(), cli, tagsOptions{image: s.Ref("chainguard/nginx", "latest")}))
	assert.Equal(t, out.String(), "TAG\n1.25\nlatest\n")
	out.Reset()
	assert.NilError(t, runTags(context.Background(), cli, tagsOptions{image: s.Ref("chainguard/nginx", ""), all: true, format: "json"}))
	golden.Assert(t, strings.ReplaceAll(out.String(), s.Host, "REGISTRY"), "tags-json.golden")
}
