// Package registrytest runs a real OCI registry for tests: the CNCF
// distribution registry embedded in-process on 127.0.0.1, behind a real
// Docker token service that signs JWTs the registry verifies, plus a
// Chainguard-style tag history endpoint that records real tag pushes.
// It counts requests and bytes, and can inject latency and faults.
package registrytest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"

	"github.com/distribution/distribution/v3"
	_ "github.com/distribution/distribution/v3/registry/auth/token" // token access controller
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	"github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// sharedMemoryDriver is the storage driver each Server's registry runs on:
// distribution's in-memory driver, made by the Server, which keeps it too
// (TagAs writes tags through it). The factory hands the registry the driver
// its configuration names by id.
const sharedMemoryDriver = "registrytest-inmemory"

var memoryDrivers struct {
	next atomic.Int64
	m    sync.Map // id → *inmemory.Driver
}

type sharedMemoryFactory struct{}

func (sharedMemoryFactory) Create(_ context.Context, p map[string]any) (storagedriver.StorageDriver, error) {
	d, ok := memoryDrivers.m.LoadAndDelete(fmt.Sprint(p["id"]))
	if !ok {
		return nil, fmt.Errorf("registrytest: no in-memory driver %v", p["id"])
	}
	return d.(*inmemory.Driver), nil
}

func init() { factory.Register(sharedMemoryDriver, sharedMemoryFactory{}) }

// AdminUser may push and pull everything; its password is AdminPassword.
const (
	AdminUser     = "admin"
	AdminPassword = "admin-secret-pw"
)

// Server is a running test registry.
type Server struct {
	// Host is "127.0.0.1:PORT"; URL is "http://" + Host.
	Host string
	URL  string

	srv     *httptest.Server
	app     http.Handler
	storage distribution.Namespace // the app's storage, for TagAs
	signer  *signer

	tokenTTL  time.Duration
	latency   atomic.Int64 // nanoseconds
	noHistory bool
	legacy    bool
	tls       bool
	newest    bool
	limit     int

	mu            sync.Mutex
	users         map[string]string
	denied        map[string]bool
	public        []string
	allPublic     bool
	refreshTokens map[string]string
	history       map[string][]HistoryEntry // repo + ":" + tag
	repos         map[string]bool
	now           func() time.Time
	faults        []fault
	corrupt       map[v1.Hash]bool // blobs served corrupted, see CorruptBlob
	historyHook   http.HandlerFunc
	overrides     []override
	issued        []IssuedToken
	counts        Counts
	userAgents    map[string]bool
}

// HistoryEntry is one recorded tag update.
type HistoryEntry struct {
	Digest string
	At     time.Time
}

// IssuedToken describes one token the token service handed out.
type IssuedToken struct {
	Subject string // empty for anonymous
	Scopes  []string
}

// Counts tallies requests by kind and the response bytes served.
type Counts struct {
	Total    int
	Ping     int
	Token    int
	History  int
	Manifest int
	Blob     int
	Tags     int
	Bytes    int64
}

type fault struct {
	match      string // substring of the path
	status     int
	retryAfter string
	left       int
}

// Option configures a Server.
type Option func(*Server)

// WithUser adds a user that may pull every repository.
func WithUser(user, password string) Option {
	return func(s *Server) { s.users[user] = password }
}

// WithPublic lets anonymous clients pull repositories under these prefixes.
// Without any WithPublic option every repository is public.
func WithPublic(prefixes ...string) Option {
	return func(s *Server) { s.allPublic = false; s.public = append(s.public, prefixes...) }
}

// WithDenied forbids user from pulling repo.
func WithDenied(user, repo string) Option {
	return func(s *Server) { s.denied[user+"\x00"+repo] = true }
}

// WithoutHistory makes the server behave like a registry with no tag history API.
func WithoutHistory() Option { return func(s *Server) { s.noHistory = true } }

// WithLegacyKeys answers history with the 2023 key casing (UpdateTimestamp, Digest).
func WithLegacyKeys() Option { return func(s *Server) { s.legacy = true } }

// WithHistoryLimit caps history responses (default 1000, as cgr.dev does).
func WithHistoryLimit(n int) Option { return func(s *Server) { s.limit = n } }

// WithTokenTTL sets the lifetime of issued tokens (default 5 minutes).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.tokenTTL = d } }

// WithNewestFirst answers history newest first, the cap counted back from
// "end", as cgr.dev has been seen to do when "end" is given.
func WithNewestFirst() Option { return func(s *Server) { s.newest = true } }

// WithTLS serves HTTPS (with httptest's self-signed certificate) instead of HTTP.
func WithTLS() Option { return func(s *Server) { s.tls = true } }

// WithLatency delays every request by d, simulating network distance.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency.Store(int64(d)) } }

// New starts a registry on 127.0.0.1 and stops it when tb ends.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := Start(opts...)
	if err != nil {
		tb.Fatalf("registrytest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a registry; call Close when done.
func Start(opts ...Option) (*Server, error) {
	logrus.SetOutput(io.Discard)
	s := &Server{
		tokenTTL:      5 * time.Minute,
		limit:         1000,
		users:         map[string]string{AdminUser: AdminPassword},
		denied:        map[string]bool{},
		allPublic:     true,
		refreshTokens: map[string]string{},
		history:       map[string][]HistoryEntry{},
		repos:         map[string]bool{},
		userAgents:    map[string]bool{},
		corrupt:       map[v1.Hash]bool{},
		now:           time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.Host = s.srv.Listener.Addr().String()
	s.URL = "http://" + s.Host
	if s.tls {
		s.URL = "https://" + s.Host
	}
	var err error
	if s.signer, err = newSigner("registrytest-issuer", s.Host); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "registrytest-")
	if err != nil {
		return nil, err
	}
	bundle := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(bundle, s.signer.certPEM(), 0o600); err != nil {
		return nil, err
	}
	drv := inmemory.New()
	if s.storage, err = storage.NewRegistry(context.Background(), drv); err != nil {
		return nil, err
	}
	id := fmt.Sprint(memoryDrivers.next.Add(1))
	memoryDrivers.m.Store(id, drv)
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			sharedMemoryDriver: configuration.Parameters{"id": id},
			"maintenance":      configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		},
		Auth: configuration.Auth{"token": configuration.Parameters{
			"realm":          s.URL + "/token",
			"service":        s.Host,
			"issuer":         "registrytest-issuer",
			"rootcertbundle": bundle,
		}},
	}
	cfg.HTTP.Secret = "registrytest"
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	s.app = handlers.NewApp(context.Background(), cfg)
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if s.tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	_ = os.RemoveAll(dir) // the access controller read the bundle at start
	return s, nil
}

// Transport is an HTTP transport that trusts the server (for WithTLS).
func (s *Server) Transport() http.RoundTripper { return s.srv.Client().Transport }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Token returns a registry token for subject ("" = anonymous) with pull
// access to repo, for tests that talk HTTP directly.
func (s *Server) Token(subject, repo string) string {
	g, _ := s.grant(subject, "repository:"+repo+":pull,push")
	tok, err := s.signer.issue(subject, []access{g}, s.tokenTTL, time.Now())
	if err != nil {
		panic(err)
	}
	return tok
}

// SetLatency changes the delay added to every request.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// SetClock sets the clock used to timestamp recorded tag pushes.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Fail makes the next n requests whose path contains match answer status,
// with a Retry-After header when retryAfter is not empty.
func (s *Server) Fail(match string, n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{match: match, status: status, retryAfter: retryAfter, left: n})
}

// OverrideHistory replaces the history endpoint's answer (after auth) with h,
// to serve malformed or oversized responses. nil restores the default.
func (s *Server) OverrideHistory(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.historyHook = h
}

// override answers every request whose path matches in place of the registry.
type override struct {
	match *regexp.Regexp
	h     http.HandlerFunc
}

// Override makes every later request whose path matches the regular
// expression pattern answered by h instead of the registry (no auth is
// checked), to play a hostile or broken registry: endless tag lists, huge
// bodies, control characters in names and errors. A nil h removes the
// overrides of that pattern. The first matching override wins.
func (s *Server) Override(pattern string, h http.HandlerFunc) {
	re := regexp.MustCompile(pattern)
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.overrides[:0]
	for _, o := range s.overrides {
		if o.match.String() != re.String() {
			kept = append(kept, o)
		}
	}
	s.overrides = kept
	if h != nil {
		s.overrides = append(s.overrides, override{match: re, h: h})
	}
}

func (s *Server) overrideFor(r *http.Request) http.HandlerFunc {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.overrides {
		if o.match.MatchString(r.URL.Path) {
			return o.h
		}
	}
	return nil
}

// Counts returns the requests served so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// ResetCounts zeroes the counters.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = Counts{}
	s.issued = nil
}

// UserAgents returns the distinct User-Agent headers seen since the start.
func (s *Server) UserAgents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for ua := range s.userAgents {
		out = append(out, ua)
	}
	return out
}

// Issued returns the tokens handed out since the last ResetCounts.
func (s *Server) Issued() []IssuedToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]IssuedToken(nil), s.issued...)
}

// RecordHistory adds a tag history entry directly, without a push, for
// tests that need thousands of entries.
func (s *Server) RecordHistory(repo, tag, digest string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[repo] = true
	k := repo + ":" + tag
	s.history[k] = append(s.history[k], HistoryEntry{Digest: digest, At: at.UTC()})
}

// History returns the recorded entries of repo:tag, oldest first.
func (s *Server) History(repo, tag string) []HistoryEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]HistoryEntry(nil), s.history[repo+":"+tag]...)
}

var (
	historyPath  = regexp.MustCompile(`^/v2/(.+)/_chainguard/history/([^/]+)$`)
	manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if d := time.Duration(s.latency.Load()); d > 0 {
		time.Sleep(d)
	}
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	s.count(r)
	defer func() {
		s.mu.Lock()
		s.counts.Bytes += cw.n
		s.mu.Unlock()
	}()
	if s.injectFault(cw, r) {
		return
	}
	if h := s.overrideFor(r); h != nil {
		h(cw, r)
		return
	}
	switch {
	case r.URL.Path == "/token":
		s.serveToken(cw, r)
	case historyPath.MatchString(r.URL.Path):
		m := historyPath.FindStringSubmatch(r.URL.Path)
		s.serveHistory(cw, r, m[1], m[2])
	case s.corrupts(r):
		s.serveCorrupted(cw, r)
	default:
		s.app.ServeHTTP(cw, r)
		if r.Method == http.MethodPut && cw.status == http.StatusCreated {
			if m := manifestPath.FindStringSubmatch(r.URL.Path); m != nil {
				s.recordPush(m[1], m[2], cw.Header().Get("Docker-Content-Digest"))
			}
		}
	}
}

func (s *Server) count(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userAgents[r.UserAgent()] = true
	c := &s.counts
	c.Total++
	p := r.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		c.Ping++
	case p == "/token":
		c.Token++
	case strings.Contains(p, "/_chainguard/history/"):
		c.History++
	case strings.Contains(p, "/manifests/"):
		c.Manifest++
	case strings.Contains(p, "/blobs/"):
		c.Blob++
	case strings.HasSuffix(p, "/tags/list"):
		c.Tags++
	}
}

func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.left > 0 && strings.Contains(r.URL.Path, f.match) {
			f.left--
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			writeError(w, f.status, "UNAVAILABLE", fmt.Sprintf("injected fault %d", f.status))
			return true
		}
	}
	return false
}

func (s *Server) recordPush(repo, ref, digest string) {
	if strings.Contains(ref, ":") || digest == "" {
		return // pushed by digest: no tag moved
	}
	s.mu.Lock()
	now := s.now
	s.mu.Unlock()
	s.RecordHistory(repo, ref, digest, now())
}

// countingWriter records the status and counts the bytes written.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
	wrote  bool
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.wrote {
		c.status, c.wrote = code, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.wrote = true
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// LoopbackTransport is an HTTP transport that refuses to dial anything but
// loopback addresses, without a DNS lookup: tests that use it cannot reach
// the network even when a reference names a real registry.
func LoopbackTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	dial := t.DialContext
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("registrytest: refusing to dial %s: tests stay on loopback", addr)
		}
		return dial(ctx, network, addr)
	}
	return t
}
