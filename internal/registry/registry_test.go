package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestKeychainSources(t *testing.T) {
	dir := t.TempDir()
	helper := "#!/bin/sh\nread s\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"helper-secret\"}' \"$s\"\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-kc"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	auth := base64.StdEncoding.EncodeToString([]byte("file-user:file-pw"))
	cfgJSON := fmt.Sprintf(`{"auths":{"a.example":{"auth":%q},"https://index.docker.io/v1/":{"auth":%q}},"credHelpers":{"b.example":"kc"}}`, auth, auth)
	cf, err := config.LoadFromReader(strings.NewReader(cfgJSON))
	if err != nil {
		t.Fatal(err)
	}
	k := Keychain{Config: cf}
	cases := []struct{ host, source, user string }{
		{"a.example", "auths", "file-user"},
		{"b.example", "credHelpers:kc", "helper-user"},
		{"c.example", "", ""},
		{"index.docker.io", "auths", "file-user"},
		{"docker.io", "auths", "file-user"},
	}
	for _, tc := range cases {
		c, err := k.Lookup(tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if c.Source != tc.source || c.Auth.Username != tc.user {
			t.Errorf("%s: source %q user %q, want %q %q", tc.host, c.Source, c.Auth.Username, tc.source, tc.user)
		}
	}
	// DOCKER_AUTH_CONFIG takes precedence for its hosts.
	env := base64.StdEncoding.EncodeToString([]byte("env-user:env-pw"))
	t.Setenv("DOCKER_AUTH_CONFIG", fmt.Sprintf(`{"auths":{"a.example":{"auth":%q}}}`, env))
	c, err := k.Lookup("a.example")
	if err != nil || c.Source != "DOCKER_AUTH_CONFIG" || c.Auth.Username != "env-user" {
		t.Errorf("DOCKER_AUTH_CONFIG: %+v %v", c, err)
	}
	// credsStore names the store for hosts without a credHelper.
	cf.CredentialsStore = "kc"
	c, _ = k.Lookup("c.example")
	if c.Source != "credsStore:kc" || c.Auth.Username != "helper-user" {
		t.Errorf("credsStore: %+v", c)
	}
}

func TestRedactURL(t *testing.T) {
	u, _ := url.Parse("https://user:pw@r.example/token?scope=repository:a:pull&password=hunter2&access_token=xyz&service=r")
	got := redactURL(u)
	for _, secret := range []string{"pw@", "hunter2", "xyz"} {
		if strings.Contains(got, secret) {
			t.Errorf("redactURL kept %q: %s", secret, got)
		}
	}
	if !strings.Contains(got, "scope=repository%3Aa%3Apull") || !strings.Contains(got, "service=r") {
		t.Errorf("redactURL dropped harmless params: %s", got)
	}
	if s := redactText(`Get "https://u:p4ss@h/x?token=t0k": EOF`); strings.Contains(s, "p4ss") || strings.Contains(s, "t0k") {
		t.Errorf("redactText = %s", s)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second, true},
		{now.Add(-5 * time.Second).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tc := range cases {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPlainHTTPOnlyForLoopback(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "10.0.0.5": false, "cgr.dev": false, "192.168.1.2": false} {
		if IsLoopback(host) != want {
			t.Errorf("IsLoopback(%s) != %v", host, want)
		}
	}
	c := New(Options{Attempts: 1})
	req, _ := http.NewRequest(http.MethodGet, "http://10.0.0.5:5000/v2/", nil)
	if _, err := c.base.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "--insecure") {
		t.Errorf("plain HTTP to a private address: %v", err)
	}
}

func TestTimeoutAndUserAgent(t *testing.T) {
	s := registrytest.New(t, registrytest.WithLatency(200*time.Millisecond))
	s.Push(t, "chainguard/x", "latest", time.Now(), "linux/amd64")
	var dbg bytes.Buffer
	c := New(Options{Cache: cache.New(t.TempDir(), 0), Debug: &dbg, UserAgent: "docker-cghistory/test"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	repo, _ := name.NewRepository(s.Host + "/chainguard/x")
	_, err := c.Tags(ctx, repo)
	if err == nil || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
	s.SetLatency(0)
	if _, err := c.Tags(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ua := range s.UserAgents() {
		found = found || ua == "docker-cghistory/test"
	}
	if !found {
		t.Errorf("User-Agent not sent: %v", s.UserAgents())
	}
}

func TestErrorMessages(t *testing.T) {
	cases := []struct {
		e    *Error
		want []string
	}{
		{&Error{Kind: ErrUnauthorized, Host: "cgr.dev", Repo: "acme/app"}, []string{"authentication required for cgr.dev/acme/app", "docker login cgr.dev", "credential helper"}},
		{&Error{Kind: ErrDenied, Host: "cgr.dev", Repo: "acme/app", Source: "credHelpers:cgr", Username: "_token"}, []string{"access denied to cgr.dev/acme/app", "credHelpers:cgr"}},
		{&Error{Kind: ErrDenied, Host: "r.io", Repo: "a", Source: "auths", Username: "bob", Message: "nope"}, []string{"(user bob)", "registry said: nope"}},
		{&Error{Kind: ErrNotFound, Host: "r.io", Repo: "a"}, []string{"not found: r.io/a"}},
	}
	for _, tc := range cases {
		for _, w := range tc.want {
			if !strings.Contains(tc.e.Error(), w) {
				t.Errorf("%q lacks %q", tc.e.Error(), w)
			}
		}
		if !errors.Is(tc.e, tc.e.Kind) {
			t.Errorf("errors.Is(%v, kind) = false", tc.e)
		}
	}
}

func TestCachedTokensExpire(t *testing.T) {
	d := cache.New(t.TempDir(), 0)
	if err := d.PutJSON("tokens", "k", cachedToken{Token: "t", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if tok, ok := loadToken(d, "k", time.Now()); !ok || tok.Token != "t" {
		t.Error("token not read back")
	}
	if _, ok := loadToken(d, "k", time.Now().Add(2*time.Hour)); ok {
		t.Error("expired token returned")
	}
}
