package commands

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"gotest.tools/v3/assert"
)

type accessJSON struct {
	Registry, Repository, Source, Username string
	OK                                     bool
	TokenLifetimeSeconds                   int64
	CachedToken                            bool
	Detail                                 string
}

func decodeAccess(t *testing.T, out string) []accessJSON {
	t.Helper()
	var rows []accessJSON
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a accessJSON
		assert.NilError(t, json.Unmarshal([]byte(line), &a), line)
		rows = append(rows, a)
	}
	return rows
}

func TestAuth(t *testing.T) {
	s := registrytest.New(t, registrytest.WithUser("alice", "alice-pw-31"), registrytest.WithPublic("chainguard"),
		registrytest.WithTokenTTL(10*time.Minute))
	s.Push(t, "private/app", "v1", now, "linux/amd64")
	s.Push(t, "chainguard/nginx", "latest", now, "linux/amd64")
	good := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.Host, base64.StdEncoding.EncodeToString([]byte("alice:alice-pw-31")))
	bad := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.Host, base64.StdEncoding.EncodeToString([]byte("alice:wrong-pw-55")))

	cases := []struct {
		name    string
		config  string
		targets []string
		want    []accessJSON
	}{
		{"anonymous public image", `{}`, []string{s.Ref("chainguard/nginx", "latest")},
			[]accessJSON{{Repository: "chainguard/nginx", Source: "anonymous", OK: true, TokenLifetimeSeconds: 600, Detail: "pull granted"}}},
		{"anonymous private image", `{}`, []string{s.Ref("private/app", "v1")},
			[]accessJSON{{Repository: "private/app", Source: "anonymous", OK: false, TokenLifetimeSeconds: 600, Detail: "pull denied"}}},
		{"auths private image and registry", good, []string{s.Ref("private/app", "v1"), s.Host},
			[]accessJSON{
				{Repository: "private/app", Source: "auths", Username: "alice", OK: true, TokenLifetimeSeconds: 600, Detail: "pull granted"},
				{Source: "auths", Username: "alice", OK: true, TokenLifetimeSeconds: 600, Detail: "credentials accepted"},
			}},
		{"wrong password", bad, []string{s.Host},
			[]accessJSON{{Source: "auths", Username: "alice", OK: false, Detail: "the token service rejected the credentials"}}},
		{"missing tag", good, []string{s.Ref("private/app", "nope")},
			[]accessJSON{{Repository: "private/app", Source: "auths", Username: "alice", OK: true, TokenLifetimeSeconds: 600, Detail: "pull granted, but nope was not found"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cli, out, _ := newTestCLI(t, tc.config)
			err := runAuth(context.Background(), cli, authOptions{targets: tc.targets, format: "json"})
			wantOK := true
			for _, w := range tc.want {
				wantOK = wantOK && w.OK
			}
			if wantOK {
				assert.NilError(t, err)
			} else {
				assert.Assert(t, errors.Is(err, errAccess), "err = %v", err)
			}
			got := decodeAccess(t, out.String())
			assert.Equal(t, len(got), len(tc.want))
			for i, w := range tc.want {
				g := got[i]
				assert.Equal(t, g.Registry, s.Host)
				assert.Equal(t, g.Repository, w.Repository)
				assert.Equal(t, g.Source, w.Source)
				assert.Equal(t, g.Username, w.Username)
				assert.Equal(t, g.OK, w.OK)
				assert.Equal(t, g.TokenLifetimeSeconds, w.TokenLifetimeSeconds)
				assert.Assert(t, strings.HasPrefix(g.Detail, w.Detail), "detail %q, want prefix %q", g.Detail, w.Detail)
			}
			for _, secret := range []string{"alice-pw-31", "wrong-pw-55"} {
				assert.Assert(t, !strings.Contains(out.String(), secret), "secret leaked")
			}
		})
	}
}

func TestAuthReportsTheTokenCache(t *testing.T) {
	s := registrytest.New(t)
	s.RecordHistory("chainguard/nginx", "latest", dg('a'), now)
	cli, out, _ := newTestCLI(t, `{}`)
	ref := s.Ref("chainguard/nginx", "latest")
	assert.NilError(t, runAuth(context.Background(), cli, authOptions{targets: []string{ref}, format: "json"}))
	assert.Equal(t, decodeAccess(t, out.String())[0].CachedToken, false)
	// A history call caches a token; auth now reports it.
	assert.NilError(t, runHistoryOpts(context.Background(), cli, historyOptions{image: ref, HistoryFlags: config.HistoryFlags{Quiet: true}}))
	out.Reset()
	assert.NilError(t, runAuth(context.Background(), cli, authOptions{targets: []string{ref}}))
	assert.Assert(t, strings.Contains(out.String(), "valid for "), out.String())
	assert.Assert(t, strings.HasPrefix(out.String(), "TARGET"), out.String())
}

func TestAuthDefaultTargets(t *testing.T) {
	cli, _, _ := newTestCLI(t, `{"auths":{"https://index.docker.io/v1/":{},"ghcr.io":{}},"credHelpers":{"cgr.dev":"cgr","127.0.0.1:5000":"x"}}`)
	assert.DeepEqual(t, configuredRegistries(cli), []string{"127.0.0.1:5000", "cgr.dev", "ghcr.io", "index.docker.io"})
	for in, want := range map[string]bool{"cgr.dev": true, "localhost": true, "127.0.0.1:5000": true, "https://cgr.dev/": true,
		"python": false, "cgr.dev/chainguard/python": false, "python:3.12": false, "python:3": false, "localhost:5000": true} {
		assert.Equal(t, ref.IsRegistry(in), want, in)
	}
}
