package registry

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/singleflight"
)

// CredentialStore finds the credentials for a registry host. *Keychain is one.
type CredentialStore interface {
	Lookup(host string) (Credentials, error)
}

// Options configure a Client.
type Options struct {
	Credentials CredentialStore // nil: anonymous everywhere
	Cache       *cache.Cache    // tokens, challenges, manifests and blobs; nil: memory only
	UserAgent   string
	Debug       io.Writer // non-nil: log every request (redacted)
	Transport   http.RoundTripper
	Attempts    int           // tries per request for 429/5xx (default 4)
	RetryBase   time.Duration // first backoff (default 500ms)
	MaxWait     time.Duration // longest single wait (default 30s)
	Now         func() time.Time
	// Insecure allows plain HTTP to any registry; without it plain HTTP is
	// only used for loopback registries, as docker does.
	Insecure bool
	// Warn receives warnings, such as a failing credential helper.
	Warn io.Writer
	// MaxBlobSize bounds a blob read whole into memory (default
	// DefaultMaxBlobSize).
	MaxBlobSize int64
	// MaxManifestSize bounds a manifest, index or referrers list (default
	// DefaultMaxManifestSize).
	MaxManifestSize int64
	// MaxTags, MaxTagPages and MaxTagPageBytes bound a tag list (defaults
	// DefaultMaxTags, DefaultMaxTagPages, DefaultMaxTagPageBytes).
	MaxTags, MaxTagPages int
	MaxTagPageBytes      int64
}

// Client is the one registry client of a run: one keep-alive HTTP transport,
// and one authenticated transport per repository, shared by every request.
type Client struct {
	opts Options
	base http.RoundTripper

	mu      sync.Mutex
	repos   map[string]*authTransport
	creds   map[string]Credentials
	pings   map[string]*pingCall
	lookups singleflight.Group // credential lookups, one per host at a time
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.Attempts <= 0 {
		opts.Attempts = 4
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 500 * time.Millisecond
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBlobSize <= 0 {
		opts.MaxBlobSize = DefaultMaxBlobSize
	}
	if opts.MaxManifestSize <= 0 {
		opts.MaxManifestSize = DefaultMaxManifestSize
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "docker-cghistory"
	}
	if opts.Credentials == nil {
		opts.Credentials = Keychain{}
	}
	var rt http.RoundTripper = opts.Transport
	if rt == nil {
		rt = newHTTPTransport()
	}
	if !opts.Insecure {
		rt = &loopbackHTTPOnly{inner: rt}
	}
	if opts.Debug != nil {
		rt = &debugTransport{inner: rt, w: opts.Debug}
	}
	rt = &retryTransport{inner: rt, attempts: opts.Attempts, base: opts.RetryBase, maxWait: opts.MaxWait}
	rt = &userAgentTransport{inner: rt, ua: opts.UserAgent}
	rt = &boundedBodies{inner: rt, maxManifest: opts.MaxManifestSize}
	return &Client{opts: opts, base: rt, repos: map[string]*authTransport{}, creds: map[string]Credentials{}, pings: map[string]*pingCall{}}
}

// Cache returns the client's disk cache (nil when there is none).
func (c *Client) Cache() *cache.Cache { return c.opts.Cache }

// HTTPClient returns an HTTP client authorised to pull from repo.
func (c *Client) HTTPClient(ctx context.Context, repo name.Repository) (*http.Client, error) {
	t, err := c.transport(ctx, repo)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t}, nil
}

// RemoteOptions returns go-containerregistry options that reuse this
// client's authenticated transport for repo.
func (c *Client) RemoteOptions(ctx context.Context, repo name.Repository) ([]remote.Option, error) {
	t, err := c.transport(ctx, repo)
	if err != nil {
		return nil, err
	}
	// A transport.Wrapper tells remote not to ping, authenticate or wrap
	// again: our transport already does all of that (and caches tokens).
	w, err := transport.FromToken(repo.Registry, authn.Anonymous, t, &transport.Challenge{}, nil)
	if err != nil {
		return nil, err
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(w)}, nil
}

func (c *Client) transport(ctx context.Context, repo name.Repository) (*authTransport, error) {
	key := repo.Name()
	c.mu.Lock()
	t, ok := c.repos[key]
	if !ok {
		t = &authTransport{c: c, repo: repo}
		c.repos[key] = t
	}
	c.mu.Unlock()
	if err := t.prepare(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// ping asks a registry for its auth challenge, once per run however many
// repositories ask at the same time; force asks again (a stale challenge).
func (c *Client) ping(ctx context.Context, reg name.Registry, force bool) (*transport.Challenge, error) {
	host := reg.RegistryStr()
	c.mu.Lock()
	call := c.pings[host]
	if call == nil || force || call.failed() {
		call = &pingCall{ready: make(chan struct{})}
		c.pings[host] = call
		// The ping is shared by every request waiting for it, so one
		// caller's cancellation must not fail the others: it runs on its own
		// (bounded) context, and each caller waits only as long as its own.
		go func() {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
			defer cancel()
			ch, err := transport.Ping(pctx, reg, c.base)
			if err != nil {
				err = &Error{Kind: ErrUnreachable, Host: host, Err: redactErr(err)}
			}
			call.ch, call.err = ch, err
			close(call.ready)
		}()
	}
	c.mu.Unlock()
	select {
	case <-call.ready:
		return call.ch, call.err
	case <-ctx.Done():
		return nil, &Error{Kind: ErrUnreachable, Host: host, Err: ctx.Err()}
	}
}

// pingTimeout bounds a shared ping (each caller's own context still
// bounds its wait).
const pingTimeout = 30 * time.Second

// pingCall is one ping, shared by everyone who asked while it ran.
type pingCall struct {
	ready chan struct{} // closed when ch and err are set
	ch    *transport.Challenge
	err   error
}

// failed reports a finished ping that failed: the next caller tries again.
func (p *pingCall) failed() bool {
	select {
	case <-p.ready:
		return p.err != nil
	default:
		return false
	}
}

// Describe returns the credentials used for host (looked up once per run).
// A credential helper that fails is reported once through Options.Warn and
// then treated as no credentials, as docker does. Helpers run without the
// client's lock held, so a slow one delays only its own registry.
func (c *Client) Describe(host string) Credentials {
	c.mu.Lock()
	creds, ok := c.creds[host]
	c.mu.Unlock()
	if ok {
		return creds
	}
	v, _, _ := c.lookups.Do(host, func() (any, error) {
		c.mu.Lock()
		creds, ok := c.creds[host]
		c.mu.Unlock()
		if ok {
			return creds, nil
		}
		creds, err := c.opts.Credentials.Lookup(host)
		if err != nil {
			creds = Credentials{LookupErr: redactErr(err)}
			if c.opts.Warn != nil {
				fmt.Fprintf(c.opts.Warn, "WARNING: %v; continuing without credentials for %s\n", creds.LookupErr, host)
			}
		}
		c.mu.Lock()
		c.creds[host] = creds
		c.mu.Unlock()
		return creds, nil
	})
	return v.(Credentials)
}

// authTransport authorises requests to one repository with pull scope. It
// takes tokens from memory, then the disk cache, and only then pings the
// registry and exchanges credentials (through go-containerregistry).
type authTransport struct {
	c    *Client
	repo name.Repository

	mu        sync.Mutex
	ready     bool
	creds     Credentials
	challenge *transport.Challenge
	token     string
	expires   time.Time
	tokenKey  string
	cached    bool // token came from the disk cache and may have been revoked
}

func (t *authTransport) scope() string { return t.repo.Scope(transport.PullScope) }

func (t *authTransport) host() string { return t.repo.RegistryStr() }

func (t *authTransport) prepare(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ready {
		return nil
	}
	t.creds = t.c.Describe(t.host())
	cache := t.c.opts.Cache
	t.tokenKey = tokenKey(t.host(), t.scope(), t.creds)
	if ch, ok := loadChallenge(cache, t.host()); ok {
		t.challenge = ch
		if !isBearer(ch) {
			t.ready = true
			return nil
		}
		if ct, ok := loadToken(cache, t.tokenKey, t.c.opts.Now()); ok {
			t.token, t.expires, t.ready, t.cached = ct.Token, ct.Expires, true, true
			return nil
		}
		if err := t.exchange(ctx); err == nil {
			t.ready = true
			return nil
		} else if isAuthError(err) {
			return err
		}
		// The cached challenge may be stale: ping again below.
	}
	if err := t.ping(ctx, t.challenge != nil); err != nil {
		return err
	}
	if isBearer(t.challenge) {
		if err := t.exchange(ctx); err != nil {
			return err
		}
	}
	t.ready = true
	return nil
}

func (t *authTransport) ping(ctx context.Context, force bool) error {
	ch, err := t.c.ping(ctx, t.repo.Registry, force)
	if err != nil {
		return err
	}
	t.challenge = ch
	if err := saveChallenge(t.c.opts.Cache, t.host(), ch); err != nil && t.c.opts.Debug != nil {
		fmt.Fprintf(t.c.opts.Debug, "DEBU[cache] %v\n", err)
	}
	return nil
}

// exchange trades the credentials for a registry token and caches it.
// The caller holds t.mu.
func (t *authTransport) exchange(ctx context.Context) error {
	g, err := t.c.exchange(ctx, t.repo.Registry, t.repo.RepositoryStr(), t.creds, t.challenge, []string{t.scope()})
	if err != nil {
		return err
	}
	t.token, t.cached = g.token, false
	if t.creds.Auth.RegistryToken != "" {
		t.expires = time.Time{}
		return nil
	}
	ttl := g.lifetime
	t.expires = t.c.opts.Now().Add(ttl - min(ttl/10, 30*time.Second))
	if err := t.c.opts.Cache.PutJSON("tokens", t.tokenKey, cachedToken{Token: g.token, Expires: t.expires}); err != nil && t.c.opts.Debug != nil {
		fmt.Fprintf(t.c.opts.Debug, "DEBU[cache] %v\n", err)
	}
	return nil
}

// current returns the token to send, renewing it first once it expired.
func (t *authTransport) current(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if isBearer(t.challenge) && !t.expires.IsZero() && !t.c.opts.Now().Before(t.expires) {
		if err := t.exchange(ctx); err != nil {
			return "", err
		}
	}
	return t.token, nil
}

// RoundTrip authorises req. On a 401 it renews a token that came from the
// disk cache once and retries; a fresh token that gets a 401 means the
// credentials lack access, and asking again would change nothing.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != t.host() {
		return t.c.base.RoundTrip(req) // never send credentials elsewhere
	}
	tok, err := t.current(req.Context())
	if err != nil {
		return nil, err
	}
	resp, err := t.c.base.RoundTrip(t.authorize(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || (req.Body != nil && req.GetBody == nil) {
		return resp, err
	}
	t.mu.Lock()
	var renewErr error
	switch {
	case t.token != tok:
		// renewed meanwhile by another request: just retry
	case isBearer(t.challenge) && t.cached:
		t.c.opts.Cache.Remove("tokens", t.tokenKey)
		renewErr = t.exchange(req.Context())
	case !isBearer(t.challenge) && hasBearerChallenge(resp):
		// The cached challenge said no token was needed; the registry now
		// wants one: forget the challenge, ping and exchange again.
		t.c.opts.Cache.Remove("challenges", cache.Key(t.host()))
		if renewErr = t.ping(req.Context(), true); renewErr == nil && isBearer(t.challenge) {
			renewErr = t.exchange(req.Context())
		}
	default:
		t.mu.Unlock()
		return resp, nil
	}
	tok = t.token
	t.mu.Unlock()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if renewErr != nil {
		return nil, renewErr
	}
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = b
	}
	return t.c.base.RoundTrip(t.authorize(req, tok))
}

func hasBearerChallenge(resp *http.Response) bool {
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		if len(h) >= 6 && strings.EqualFold(h[:6], "bearer") {
			return true
		}
	}
	return false
}

// authorize returns a copy of req with credentials and the scheme the
// registry answered its ping on (https, or http for insecure registries).
func (t *authTransport) authorize(req *http.Request, tok string) *http.Request {
	r := req.Clone(req.Context())
	t.mu.Lock()
	ch := t.challenge
	t.mu.Unlock()
	if ch.Insecure {
		r.URL.Scheme = "http"
	} else {
		r.URL.Scheme = "https"
	}
	switch {
	case isBearer(ch) && tok != "":
		r.Header.Set("Authorization", "Bearer "+tok)
	case strings.EqualFold(ch.Scheme, "basic") && !t.creds.Anonymous():
		a := t.creds.Auth
		switch {
		case a.Username != "" && a.Password != "":
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password)))
		case a.Auth != "":
			r.Header.Set("Authorization", "Basic "+a.Auth)
		}
	}
	return r
}

// HTTP returns a client for plain (unauthenticated) downloads, such as a
// security database, sharing this run's transport, retries and debug log.
func (c *Client) HTTP() *http.Client { return &http.Client{Transport: c.base} }
