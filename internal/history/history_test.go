package history_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/name"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newClient builds a history client with a docker config written from cfgJSON.
func newClient(t testing.TB, cacheDir, cfgJSON string, debug *bytes.Buffer) *history.Client {
	t.Helper()
	cf, err := config.LoadFromReader(strings.NewReader(cfgJSON))
	if err != nil {
		t.Fatal(err)
	}
	opts := registry.Options{
		Credentials: registry.Keychain{Config: cf},
		Cache:       cache.New(cacheDir, 0),
		RetryBase:   time.Millisecond,
	}
	if debug != nil {
		opts.Debug = debug
	}
	return &history.Client{Registry: registry.New(opts)}
}

func tag(t testing.TB, s string) name.Tag {
	t.Helper()
	tg, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestListNewestFirstAndTokenCache(t *testing.T) {
	s := registrytest.New(t)
	var want []string
	for i := range 3 {
		img := s.Push(t, "chainguard/nginx", "latest", t0.Add(time.Duration(i)*time.Hour))
		want = append([]string{img.Digest.String()}, want...)
	}
	s.ResetCounts()
	cache := t.TempDir()
	got, err := newClient(t, cache, `{}`, nil).List(context.Background(), tag(t, s.Ref("chainguard/nginx", "latest")), history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d entries", len(got))
	}
	for i, e := range got {
		if e.Digest.String() != want[i] {
			t.Errorf("entry %d = %s, want %s", i, e.Digest, want[i])
		}
	}
	if !got[0].UpdatedAt.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("newest at %s", got[0].UpdatedAt)
	}
	if c := s.Counts(); c.Total != 3 || c.Ping != 1 || c.Token != 1 || c.History != 1 {
		t.Errorf("cold run requests = %+v, want ping+token+history", c)
	}
	// A second run (new client, same cache) sends only the history request.
	s.ResetCounts()
	if _, err := newClient(t, cache, `{}`, nil).List(context.Background(), tag(t, s.Ref("chainguard/nginx", "latest")), history.Query{}); err != nil {
		t.Fatal(err)
	}
	if c := s.Counts(); c.Total != 1 || c.History != 1 {
		t.Errorf("warm run requests = %+v, want 1", c)
	}
	// The cache is private.
	assertPrivate(t, cache)
}

func assertPrivate(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		if fi.IsDir() && mode != 0o700 && p != dir {
			t.Errorf("%s: mode %o, want 0700", p, mode)
		}
		if !fi.IsDir() {
			n++
			if mode != 0o600 {
				t.Errorf("%s: mode %o, want 0600", p, mode)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("cache is empty")
	}
}

func TestStaleCachedTokenIsRenewed(t *testing.T) {
	s := registrytest.New(t, registrytest.WithTokenTTL(time.Hour))
	s.Push(t, "chainguard/go", "latest", t0)
	cache := t.TempDir()
	ref := tag(t, s.Ref("chainguard/go", "latest"))
	if _, err := newClient(t, cache, `{}`, nil).List(context.Background(), ref, history.Query{}); err != nil {
		t.Fatal(err)
	}
	// Corrupt every cached token, as if the registry had rotated its keys.
	files, _ := filepath.Glob(filepath.Join(cache, "tokens", "*"))
	if len(files) == 0 {
		t.Fatal("no cached token")
	}
	for _, f := range files {
		if err := os.WriteFile(f, []byte(`{"token":"garbage","expires":"2999-01-01T00:00:00Z"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.ResetCounts()
	got, err := newClient(t, cache, `{}`, nil).List(context.Background(), ref, history.Query{})
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if c := s.Counts(); c.History != 2 || c.Token != 1 {
		t.Errorf("requests = %+v, want 401, token, retry", c)
	}
}

func TestCredentialSources(t *testing.T) {
	s := registrytest.New(t, registrytest.WithUser("alice", "alice-pw"), registrytest.WithPublic("chainguard"),
		registrytest.WithDenied("alice", "secret/app"))
	s.Push(t, "private/app", "v1", t0)
	s.Push(t, "secret/app", "v1", t0)
	helperDir := t.TempDir()
	writeHelper(t, helperDir, "testhelper", s.Host, "alice", "alice-pw")
	writeHelper(t, helperDir, "badhelper", s.Host, "alice", "nope")
	t.Setenv("PATH", helperDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	basic := func(user, pw string) string {
		return fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.Host, b64(user+":"+pw))
	}
	cases := []struct {
		name    string
		cfg     string
		repo    string
		wantErr error
		inErr   string
	}{
		{"anonymous private", `{}`, "private/app", registry.ErrUnauthorized, "docker login " + s.Host},
		{"auths basic", basic("alice", "alice-pw"), "private/app", nil, ""},
		{"auths username+password", fmt.Sprintf(`{"auths":{%q:{"username":"alice","password":"alice-pw"}}}`, "http://"+s.Host), "private/app", nil, ""},
		{"auths wrong password", basic("alice", "wrong"), "private/app", registry.ErrDenied, "rejected"},
		{"credHelpers", fmt.Sprintf(`{"credHelpers":{%q:"testhelper"}}`, s.Host), "private/app", nil, ""},
		{"credsStore", `{"credsStore":"testhelper"}`, "private/app", nil, ""},
		{"credHelpers wins over credsStore", fmt.Sprintf(`{"credsStore":"badhelper","credHelpers":{%q:"testhelper"}}`, s.Host), "private/app", nil, ""},
		{"denied user", basic("alice", "alice-pw"), "secret/app", registry.ErrDenied, "auths (user alice)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var dbg bytes.Buffer
			tg := "v1"
			_, err := newClient(t, t.TempDir(), tc.cfg, &dbg).List(context.Background(), tag(t, s.Ref(tc.repo, tg)), history.Query{})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.inErr) {
					t.Errorf("error %q lacks %q", err, tc.inErr)
				}
			}
			for _, secret := range []string{"alice-pw", b64("alice:alice-pw"), "wrong"} {
				if strings.Contains(dbg.String(), secret) || (err != nil && strings.Contains(err.Error(), secret)) {
					t.Errorf("secret %q leaked", secret)
				}
			}
			if !strings.Contains(dbg.String(), "GET http://"+s.Host+"/v2/ 401") {
				t.Errorf("debug log lacks the history request:\n%s", dbg.String())
			}
		})
	}
}

func TestIdentityTokenUsesOAuth2Refresh(t *testing.T) {
	s := registrytest.New(t, registrytest.WithUser("bob", "bob-pw"), registrytest.WithPublic("chainguard"))
	s.Push(t, "private/app", "v1", t0)
	rt := s.RefreshToken("bob")
	cfg := fmt.Sprintf(`{"auths":{%q:{"identitytoken":%q}}}`, s.Host, rt)
	var dbg bytes.Buffer
	if _, err := newClient(t, t.TempDir(), cfg, &dbg).List(context.Background(), tag(t, s.Ref("private/app", "v1")), history.Query{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dbg.String(), "POST "+s.URL+"/token") {
		t.Errorf("no OAuth2 POST in:\n%s", dbg.String())
	}
	if strings.Contains(dbg.String(), rt) {
		t.Error("refresh token leaked into the debug log")
	}
	issued := s.Issued()
	if len(issued) == 0 || issued[len(issued)-1].Subject != "bob" {
		t.Errorf("issued = %+v", issued)
	}
}

func TestCredentialChangeInvalidatesCache(t *testing.T) {
	s := registrytest.New(t, registrytest.WithUser("alice", "alice-pw"), registrytest.WithUser("carol", "carol-pw"),
		registrytest.WithPublic("chainguard"), registrytest.WithDenied("carol", "private/app"))
	s.Push(t, "private/app", "v1", t0)
	cache := t.TempDir()
	ref := tag(t, s.Ref("private/app", "v1"))
	cfg := func(u, p string) string { return fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.Host, b64(u+":"+p)) }
	if _, err := newClient(t, cache, cfg("alice", "alice-pw"), nil).List(context.Background(), ref, history.Query{}); err != nil {
		t.Fatal(err)
	}
	// carol may not pull: alice's cached token must not be reused for her.
	_, err := newClient(t, cache, cfg("carol", "carol-pw"), nil).List(context.Background(), ref, history.Query{})
	if !errors.Is(err, registry.ErrDenied) {
		t.Fatalf("err = %v, want denied", err)
	}
}

func TestPagingPastTheCap(t *testing.T) {
	s := registrytest.New(t, registrytest.WithHistoryLimit(history.PageLimit))
	n := 2*history.PageLimit + 500
	for i := range n {
		s.RecordHistory("chainguard/python", "latest", fmt.Sprintf("sha256:%064x", i), t0.Add(time.Duration(i)*time.Minute))
	}
	// A duplicate record (same digest and time) is shown once.
	s.RecordHistory("chainguard/python", "latest", fmt.Sprintf("sha256:%064x", 7), t0.Add(7*time.Minute))
	s.ResetCounts()
	got, err := newClient(t, t.TempDir(), `{}`, nil).List(context.Background(), tag(t, s.Ref("chainguard/python", "latest")), history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("got %d entries, want %d", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if !got[i-1].UpdatedAt.After(got[i].UpdatedAt) {
			t.Fatalf("not newest first at %d", i)
		}
	}
	if c := s.Counts(); c.History != 3 {
		t.Errorf("history requests = %d, want 3 pages", c.History)
	}
}

func TestPagingNewestFirstServer(t *testing.T) {
	s := registrytest.New(t, registrytest.WithNewestFirst())
	n := history.PageLimit + 500
	for i := range n {
		s.RecordHistory("chainguard/python", "latest", fmt.Sprintf("sha256:%064x", i), t0.Add(time.Duration(i)*time.Minute))
	}
	until := t0.Add(time.Duration(n-11) * time.Minute) // drops the newest 10
	got, err := newClient(t, t.TempDir(), `{}`, nil).List(context.Background(), tag(t, s.Ref("chainguard/python", "latest")), history.Query{Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n-10 || !got[0].UpdatedAt.Equal(until) || !got[len(got)-1].UpdatedAt.Equal(t0) {
		t.Fatalf("got %d entries (%v … %v), want %d", len(got), got[0].UpdatedAt, got[len(got)-1].UpdatedAt, n-10)
	}
}

func TestLegacyKeysAndUnsortedResponses(t *testing.T) {
	s := registrytest.New(t, registrytest.WithLegacyKeys())
	s.RecordHistory("chainguard/go", "latest", "sha256:"+strings.Repeat("a", 64), t0.Add(time.Hour))
	s.RecordHistory("chainguard/go", "latest", "sha256:"+strings.Repeat("b", 64), t0)
	c := newClient(t, t.TempDir(), `{}`, nil)
	got, err := c.List(context.Background(), tag(t, s.Ref("chainguard/go", "latest")), history.Query{})
	if err != nil || len(got) != 2 || got[0].Digest.Hex[0] != 'a' {
		t.Fatalf("legacy keys: %v %v", got, err)
	}
	// Unsorted, with and without fractional seconds (as digestabot's fixture).
	s.OverrideHistory(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"history":[{"updateTimestamp":"2026-03-01T10:00:00Z","digest":"sha256:%s"},{"updateTimestamp":"2026-03-02T10:00:00.123Z","digest":"sha256:%s"},{"updateTimestamp":"2026-02-01T10:00:00Z","digest":"sha256:%s"}]}`,
			strings.Repeat("1", 64), strings.Repeat("2", 64), strings.Repeat("3", 64))
	})
	got, err = c.List(context.Background(), tag(t, s.Ref("chainguard/go", "latest")), history.Query{Since: time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC)})
	if err != nil || len(got) != 2 || got[0].Digest.Hex[0] != '2' || got[1].Digest.Hex[0] != '1' {
		t.Fatalf("unsorted: %v %v", got, err)
	}
}

func TestErrors(t *testing.T) {
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0)
	plain := registrytest.New(t, registrytest.WithoutHistory())
	img := plain.Push(t, "library/alpine", "3.20", t0)
	cases := []struct {
		name     string
		ref      string
		override string
		want     error
		inErr    string
	}{
		{"unknown tag", s.Ref("chainguard/nginx", "nope"), "", registry.ErrNotFound, `tag "nope" not found`},
		{"unknown repository", s.Ref("chainguard/nope", "latest"), "", registry.ErrNotFound, "repository " + s.Host + "/chainguard/nope not found"},
		{"no history API", plain.Ref("library/alpine", "3.20"), "", history.ErrNotSupported, img.Digest.String()},
		{"no history API, unknown tag", plain.Ref("library/alpine", "nope"), "", registry.ErrNotFound, `tag "nope" not found`},
		{"malformed JSON", s.Ref("chainguard/nginx", "latest"), `{"history": [`, registry.ErrBadResponse, "malformed JSON"},
		{"missing field", s.Ref("chainguard/nginx", "latest"), `{"items": []}`, registry.ErrBadResponse, `no "history" field`},
		{"bad digest", s.Ref("chainguard/nginx", "latest"), `{"history":[{"updateTimestamp":"2026-01-01T00:00:00Z","digest":"md5:x"}]}`, registry.ErrBadResponse, "bad digest"},
		{"bad time", s.Ref("chainguard/nginx", "latest"), `{"history":[{"updateTimestamp":"yesterday","digest":"sha256:` + strings.Repeat("a", 64) + `"}]}`, registry.ErrBadResponse, "bad timestamp"},
		{"oversized", s.Ref("chainguard/nginx", "latest"), "huge", registry.ErrTooLarge, "larger than 16 MiB, the limit per page"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			switch tc.override {
			case "":
				s.OverrideHistory(nil)
			case "huge":
				s.OverrideHistory(func(w http.ResponseWriter, r *http.Request) {
					w.Write([]byte(`{"history":[`))
					chunk := bytes.Repeat([]byte(" "), 1<<20)
					for range 17 {
						w.Write(chunk)
					}
				})
			default:
				body := tc.override
				s.OverrideHistory(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
			}
			_, err := newClient(t, t.TempDir(), `{}`, nil).List(context.Background(), tag(t, tc.ref), history.Query{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.inErr) {
				t.Fatalf("err = %v\nwant %v containing %q", err, tc.want, tc.inErr)
			}
		})
	}
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0)
	s.ResetCounts()
	s.Fail("/_chainguard/history/", 2, http.StatusServiceUnavailable, "0")
	s.Fail("/_chainguard/history/", 1, http.StatusTooManyRequests, "1")
	start := time.Now()
	got, err := newClient(t, t.TempDir(), `{}`, nil).List(context.Background(), tag(t, s.Ref("chainguard/nginx", "latest")), history.Query{})
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v %v", got, err)
	}
	if c := s.Counts(); c.History != 4 {
		t.Errorf("history requests = %d, want 4", c.History)
	}
	if time.Since(start) < time.Second {
		t.Error("Retry-After: 1 was not honoured")
	}
	// Bounded: a registry that keeps failing gives an error.
	s.Fail("/_chainguard/history/", 100, http.StatusBadGateway, "0")
	_, err = newClient(t, t.TempDir(), `{}`, nil).List(context.Background(), tag(t, s.Ref("chainguard/nginx", "latest")), history.Query{})
	if !errors.Is(err, registry.ErrBadResponse) {
		t.Fatalf("err = %v", err)
	}
}

func TestResolvePlatforms(t *testing.T) {
	s := registrytest.New(t)
	multi := s.Push(t, "chainguard/nginx", "latest", t0, "linux/amd64", "linux/arm64", "linux/arm/v7")
	single := s.Push(t, "chainguard/nginx", "latest", t0.Add(time.Hour), "linux/arm64")
	cache := t.TempDir()
	ref := tag(t, s.Ref("chainguard/nginx", "latest"))
	run := func() []history.Entry {
		c := newClient(t, cache, `{}`, nil)
		entries, err := c.List(context.Background(), ref, history.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ResolvePlatforms(context.Background(), ref.Context(), entries); err != nil {
			t.Fatal(err)
		}
		return entries
	}
	entries := run()
	if len(entries) != 2 || len(entries[0].Platforms) != 1 || len(entries[1].Platforms) != 3 {
		t.Fatalf("entries = %+v", entries)
	}
	if p := entries[0].Platforms[0]; p.Platform.String() != "linux/arm64" || p.Digest != single.Digest || p.Size != single.Platforms[0].Size {
		t.Errorf("single-platform = %+v, want %+v", p, single.Platforms[0])
	}
	byPlat := map[string]registrytest.PlatformImage{}
	for _, p := range multi.Platforms {
		byPlat[p.Platform.String()] = p
	}
	for _, p := range entries[1].Platforms {
		w := byPlat[p.Platform.String()]
		if p.Digest != w.Digest || p.Size != w.Size {
			t.Errorf("%s = %s %d, want %s %d", p.Platform, p.Digest, p.Size, w.Digest, w.Size)
		}
	}
	s.ResetCounts()
	run()
	if c := s.Counts(); c.Manifest != 0 || c.Blob != 0 || c.Total != 1 {
		t.Errorf("warm run requests = %+v, want only the history request", c)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Time{
		"2026-01-02T03:04:05Z":      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"2026-01-02T03:04:05+02:00": time.Date(2026, 1, 2, 1, 4, 5, 0, time.UTC),
		"2026-01-02":                time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		"36h":                       now.Add(-36 * time.Hour),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"2w":                        now.Add(-14 * 24 * time.Hour),
	}
	for in, want := range cases {
		got, err := history.ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-3d", "7x", "2026-13-01"} {
		if _, err := history.ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) succeeded", bad)
		}
	}
}

func TestTLSRegistryOnLoopback(t *testing.T) {
	s := registrytest.New(t, registrytest.WithTLS())
	img := s.Push(t, "chainguard/nginx", "latest", t0)
	for _, insecure := range []bool{false, true} {
		var dbg bytes.Buffer
		c := &history.Client{Registry: registry.New(registry.Options{
			Cache: cache.New(t.TempDir(), 0), Transport: s.Transport(), Debug: &dbg, Insecure: insecure,
		})}
		tag, err := ref.Options{Insecure: insecure}.Tag(s.Ref("chainguard/nginx", "latest"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.List(context.Background(), tag, history.Query{})
		if err != nil || len(got) != 1 || got[0].Digest != img.Digest {
			t.Fatalf("insecure=%v: %v %v\n%s", insecure, got, err, dbg.String())
		}
		if err := c.ResolvePlatforms(context.Background(), tag.Context(), got); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(dbg.String(), "http://"+s.Host+"/v2/chainguard") {
			t.Errorf("insecure=%v: a request went out over plain HTTP:\n%s", insecure, dbg.String())
		}
	}
}
