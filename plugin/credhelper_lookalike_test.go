package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// hostProxy is an HTTP forward proxy on loopback that hands every request,
// whatever host it names, to one test registry: two host names for one
// registry. It records what each host name was sent, so a test can tell
// whether a secret reached a name. (This machine resolves no *.localhost
// names and /etc/hosts is not the tests' to edit; HTTP_PROXY is how docker
// users behind a proxy reach registries anyway.) CONNECT is refused, so
// clients fall back to plain HTTP and nothing leaves loopback.
type hostProxy struct {
	URL  string
	mu   sync.Mutex
	sent map[string][]string // host → Authorization headers (Basic decoded) and bodies
}

func newHostProxy(t *testing.T, s *registrytest.Server) *hostProxy {
	t.Helper()
	target, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &hostProxy{sent: map[string][]string{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			var seen []string
			if a := pr.In.Header.Get("Authorization"); a != "" {
				seen = append(seen, a)
				if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "Basic ")); err == nil {
					seen = append(seen, string(b))
				}
			}
			if pr.In.Body != nil {
				body, _ := io.ReadAll(io.LimitReader(pr.In.Body, 1<<20))
				seen = append(seen, string(body))
				pr.Out.Body = io.NopCloser(bytes.NewReader(body))
				pr.Out.ContentLength = int64(len(body))
			}
			p.mu.Lock()
			p.sent[pr.In.Host] = append(p.sent[pr.In.Host], seen...)
			p.mu.Unlock()
		},
		// The registry's token realm is its 127.0.0.1 address; a client
		// talking to a host name sees it on that name (as a real registry
		// behind a name would answer).
		ModifyResponse: func(r *http.Response) error {
			if c := r.Header.Get("WWW-Authenticate"); c != "" {
				r.Header.Set("WWW-Authenticate", strings.ReplaceAll(c, s.URL, "http://"+r.Request.Host))
			}
			return nil
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			http.Error(w, "no CONNECT here", http.StatusMethodNotAllowed)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// reached reports whether secret was sent to host.
func (p *hostProxy) reached(host, secret string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.sent[host] {
		if strings.Contains(s, secret) {
			return true
		}
	}
	return false
}

// With "credsStore": "cghistory" (the README's Kubernetes setup) every
// registry docker talks to asks the helper. registry.acme.localhost and
// registry-acme.localhost shared CGHISTORY_AUTH_REGISTRY_ACME_LOCALHOST_PORT,
// so a reference to the look-alike sent acme's robot secret to it.
func TestCredsStoreNeverSendsASecretToALookalikeHost(t *testing.T) {
	t.Parallel()
	const secret = "acme-robot-secret-31"
	s := registrytest.New(t, registrytest.WithUser("robot", secret), registrytest.WithPublic("chainguard"))
	img := s.Push(t, "private/app", "v1", t0)
	_, port, err := net.SplitHostPort(s.Host)
	if err != nil {
		t.Fatal(err)
	}
	owner, lookalike := "registry.acme.localhost:"+port, "registry-acme.localhost:"+port
	p := newHostProxy(t, s)
	env := []string{
		"PATH=" + helperDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HTTP_PROXY=" + p.URL, "HTTPS_PROXY=" + p.URL, "http_proxy=" + p.URL, "https_proxy=" + p.URL,
		"NO_PROXY=", "no_proxy=",
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "CGHISTORY_AUTH_") {
			env = append(env, k+"=")
		}
	}
	d := newDockerEnv(t, `{"credsStore":"cghistory"}`)
	image := func(host string) string { return host + "/private/app:v1" }
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+image(lookalike)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notSent := func(t *testing.T, r result) {
		t.Helper()
		if p.reached(lookalike, secret) {
			t.Errorf("the secret of %s reached %s", owner, lookalike)
		}
		assertNoSecret(t, r, secret)
	}

	t.Run("name only, as the old README wrote it", func(t *testing.T) {
		legacy := "CGHISTORY_AUTH_REGISTRY_ACME_LOCALHOST_" + port
		e := append(env[:len(env):len(env)], legacy+"=robot:"+secret)
		r := d.run("", e, "cghistory", "--insecure", "--debug", "-q", image(lookalike))
		notSent(t, r)
		r.fails(t, legacy+" could mean")
		r = d.run("", e, "cgpin", "--check", "--insecure", dir)
		notSent(t, r)
		r.fails(t, "authentication required")
		// Ambiguous for the host it was meant for too, until the value names it.
		r = d.run("", e, "cghistory", "--insecure", "-q", image(owner)).fails(t, legacy+" could mean", "host="+owner)
		assertNoSecret(t, r, secret)
	})

	t.Run("host in the value", func(t *testing.T) {
		e := append(env[:len(env):len(env)], "CGHISTORY_AUTH_ACME=host="+owner+" robot:"+secret)
		r := d.run("", e, "cghistory", "--insecure", "-q", "--no-trunc", image(owner)).ok(t)
		if strings.TrimSpace(r.stdout) != img.Digest.String() {
			t.Errorf("stdout = %q", r.stdout)
		}
		if !p.reached(owner, secret) {
			t.Fatalf("the proxy never saw the secret go to %s: it could not see a leak either", owner)
		}
		assertNoSecret(t, r, secret)
		r = d.run("", e, "cghistory", "--insecure", "--debug", image(lookalike))
		notSent(t, r)
		r.fails(t, "authentication required")
		r = d.run("", e, "cgpin", "--check", "--insecure", dir)
		notSent(t, r)
		r.fails(t, "authentication required")
	})
}
