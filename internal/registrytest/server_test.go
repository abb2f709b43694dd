package registrytest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushRecordsHistoryAndRegistryVerifiesTokens(t *testing.T) {
	s := New(t, WithUser("alice", "pw"), WithPublic("chainguard"), WithDenied("alice", "secret/app"))
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := s.Push(t, "chainguard/nginx", "latest", t0)
	b := s.Push(t, "chainguard/nginx", "latest", t0.Add(time.Hour), "linux/amd64")
	if len(a.Platforms) != 2 || len(b.Platforms) != 1 {
		t.Fatalf("platforms: %d, %d", len(a.Platforms), len(b.Platforms))
	}
	h := s.History("chainguard/nginx", "latest")
	if len(h) != 2 || h[0].Digest != a.Digest.String() || !h[1].At.Equal(t0.Add(time.Hour)) {
		t.Fatalf("history = %+v", h)
	}

	// The registry itself accepts our JWTs: anonymous pull of a public repo.
	ref, _ := name.ParseReference(s.Ref("chainguard/nginx", ":latest"))
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != b.Digest {
		t.Fatalf("digest = %s, want %s", desc.Digest, b.Digest)
	}
	// Private repository: anonymous is refused, alice allowed, denied user refused.
	s.Push(t, "secret/app", "v1", t0)
	s.Push(t, "private/app", "v1", t0)
	priv, _ := name.ParseReference(s.Ref("private/app", ":v1"))
	if _, err := remote.Get(priv); err == nil {
		t.Fatal("anonymous pull of a private repo succeeded")
	}
	if _, err := remote.Get(priv, remote.WithAuth(&authn.Basic{Username: "alice", Password: "pw"})); err != nil {
		t.Fatalf("alice: %v", err)
	}
	if _, err := remote.Get(priv, remote.WithAuth(&authn.Basic{Username: "alice", Password: "wrong"})); err == nil {
		t.Fatal("wrong password accepted")
	}
	sec, _ := name.ParseReference(s.Ref("secret/app", ":v1"))
	if _, err := remote.Get(sec, remote.WithAuth(&authn.Basic{Username: "alice", Password: "pw"})); err == nil {
		t.Fatal("denied user pulled")
	}
}

func TestHistoryEndpoint(t *testing.T) {
	s := New(t, WithHistoryLimit(3))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		s.RecordHistory("chainguard/go", "latest", "sha256:"+string(rune('a'+i)), t0.Add(time.Duration(4-i)*time.Hour))
	}
	get := func(path, token string) (*http.Response, map[string][]map[string]string) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string][]map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	resp, _ := get("/v2/chainguard/go/_chainguard/history/latest", "")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	tok := s.Token("", "chainguard/go")
	resp, body := get("/v2/chainguard/go/_chainguard/history/latest", tok)
	if resp.StatusCode != 200 || len(body["history"]) != 3 || body["history"][0]["digest"] != "sha256:e" {
		t.Fatalf("got %d %v", resp.StatusCode, body)
	}
	_, body = get("/v2/chainguard/go/_chainguard/history/latest?start="+t0.Add(3*time.Hour).Format(time.RFC3339), tok)
	if len(body["history"]) != 2 {
		t.Fatalf("start filter: %v", body)
	}
	if resp, _ := get("/v2/chainguard/go/_chainguard/history/nope", tok); resp.StatusCode != 404 {
		t.Fatalf("unknown tag: %d", resp.StatusCode)
	}
	if c := s.Counts(); c.History != 4 || c.Bytes == 0 {
		t.Fatalf("counts = %+v", c)
	}
}
