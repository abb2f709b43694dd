package registry

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// retryTransport retries 429 and 5xx answers and transport errors with
// exponential backoff, honouring Retry-After. Written here because
// go-containerregistry's retry transport ignores Retry-After.
type retryTransport struct {
	inner    http.RoundTripper
	attempts int           // total tries, >= 1
	base     time.Duration // first backoff
	maxWait  time.Duration // cap on any single wait
}

func (t *retryTransport) RoundTrip(in *http.Request) (*http.Response, error) {
	idempotent := in.Method == http.MethodGet || in.Method == http.MethodHead
	for try := 1; ; try++ {
		req := in
		if try > 1 && in.Body != nil {
			if in.GetBody == nil {
				return nil, fmt.Errorf("%s %s: cannot retry a request body", in.Method, redactURL(in.URL))
			}
			b, err := in.GetBody()
			if err != nil {
				return nil, err
			}
			req = in.Clone(in.Context())
			req.Body = b
		}
		resp, err := t.inner.RoundTrip(req)
		// Transport errors are retried only for GET and HEAD: a POST (an
		// OAuth2 token request) may have been processed already. 429 and
		// 503 say the request was not processed, so any method may retry.
		retryable := err != nil && idempotent && req.Context().Err() == nil && !isPermanent(err)
		if err == nil {
			switch {
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
				retryable = true
			case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
				retryable = idempotent
			}
		}
		if !retryable || try >= t.attempts {
			return resp, err
		}
		wait := t.base << (try - 1)
		wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		wait = min(wait, t.maxWait)
		if resp != nil {
			ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if ok && ra > t.maxWait {
				// Retrying sooner than the registry asked would only be refused.
				return resp, nil
			}
			if ok {
				wait = ra
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if dl, ok := req.Context().Deadline(); ok && time.Until(dl) < wait {
			if err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%s %s: %s (retry after %s would pass the --timeout)", req.Method, redactURL(req.URL), statusText(resp.StatusCode), wait.Round(time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
	}
}

func statusText(code int) string { return fmt.Sprintf("%d %s", code, http.StatusText(code)) }

// isPermanent reports errors that retrying cannot fix.
func isPermanent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"tls:", "x509:", "certificate", "server gave HTTP response to HTTPS client", "connection refused"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// debugTransport logs each request: method, redacted URL, status, duration.
// It never logs headers or bodies, so credentials cannot leak through it.
type debugTransport struct {
	inner http.RoundTripper
	mu    sync.Mutex
	w     io.Writer
}

func (t *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.inner.RoundTrip(req)
	d := time.Since(start).Round(time.Microsecond)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		fmt.Fprintf(t.w, "DEBU[http] %s %s error %s (%s)\n", req.Method, redactURL(req.URL), redactText(err.Error()), d)
	} else {
		fmt.Fprintf(t.w, "DEBU[http] %s %s %d (%s)\n", req.Method, redactURL(req.URL), resp.StatusCode, d)
	}
	return resp, err
}

// userAgentTransport sets User-Agent on every request.
type userAgentTransport struct {
	inner http.RoundTripper
	ua    string
}

func (t *userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", t.ua)
	return t.inner.RoundTrip(req)
}

var secretParams = []string{"password", "token", "secret", "refresh_token", "access_token", "auth", "code", "key", "signature", "sig"}

// redactURL renders u with user info and secret-looking query values removed.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("redacted")
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			lk := strings.ToLower(k)
			for _, s := range secretParams {
				if strings.Contains(lk, s) {
					q.Set(k, "redacted")
					break
				}
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

// redactText removes URLs' secrets from an error text.
func redactText(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		trimmed := strings.Trim(f, `"':,`)
		if u, err := url.Parse(trimmed); err == nil && u.Scheme != "" && u.Host != "" {
			fields[i] = strings.Replace(f, trimmed, redactURL(u), 1)
		}
	}
	return strings.Join(fields, " ")
}

// newHTTPTransport is the one keep-alive transport of a run.
func newHTTPTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.ResponseHeaderTimeout = 60 * time.Second
	return t
}

// loopbackHTTPOnly refuses plain HTTP to anything but loopback addresses.
// go-containerregistry also falls back to HTTP for private (RFC 1918) and
// .local hosts; docker does not without --insecure-registry, nor do we.
type loopbackHTTPOnly struct {
	inner http.RoundTripper
}

func (t *loopbackHTTPOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !IsLoopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("refusing plain HTTP to %s (only loopback registries may use it; pass --insecure to allow it)", req.URL.Host)
	}
	return t.inner.RoundTrip(req)
}

// IsLoopback reports whether host is localhost or a loopback IP address.
func IsLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
