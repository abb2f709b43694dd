package registry

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/docker/go-units"
)

// Limits on what one registry answer may cost. A registry past one gets an
// ErrTooLarge error naming it, the repository and the limit.
const (
	// MaxErrorBody bounds what is read of an error answer's body: the rest
	// is dropped, and the answer is judged by its status and what parses.
	MaxErrorBody = 64 << 10
	// DefaultMaxManifestSize bounds a manifest or index (referrers lists
	// too): twice the 4 MiB the reference registry accepts.
	DefaultMaxManifestSize = 8 << 20
	// DefaultMaxTags bounds the entries of a repository's tag list (cgr.dev
	// repositories with a signature and attestation tag per build have tens
	// of thousands).
	DefaultMaxTags = 200_000
	// DefaultMaxTagPages bounds the pages of one tag list.
	DefaultMaxTagPages = 2_000
	// DefaultMaxTagPageBytes bounds one page of a tag list.
	DefaultMaxTagPageBytes = 16 << 20
)

// boundedBodies bounds the bodies of error answers (MaxErrorBody,
// truncated: go-containerregistry's transport.CheckError fails on a longer
// one and loses the status) and of manifest and referrers answers (an
// ErrTooLarge error past the limit; go-containerregistry reads them whole,
// up to 100 MiB).
type boundedBodies struct {
	inner       http.RoundTripper
	maxManifest int64
}

func (t *boundedBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body = readCloser{io.LimitReader(resp.Body, MaxErrorBody), resp.Body}
		return resp, nil
	}
	if req.Method != http.MethodGet {
		return resp, nil
	}
	repo, subject, ok := manifestPath(req.URL.Path)
	if !ok {
		return resp, nil
	}
	tooLarge := &Error{Kind: ErrTooLarge, Host: req.URL.Host, Repo: repo, Subject: subject,
		Err: fmt.Errorf("over the %s limit for manifests", units.BytesSize(float64(t.maxManifest)))}
	resp.Body = &limitedBody{Budget: Budget{R: resp.Body, Left: t.maxManifest, Err: tooLarge}, rc: resp.Body, early: resp.ContentLength > t.maxManifest}
	return resp, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// manifestPath splits /v2/<repo>/manifests/<ref> and
// /v2/<repo>/referrers/<digest> into the repository and what is read.
func manifestPath(p string) (repo, subject string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", false
	}
	// A reference has no slash: /v2/a/manifests/b/tags/list is the tag
	// list of repository a/manifests/b.
	if i := strings.LastIndex(rest, "/manifests/"); i > 0 && !strings.Contains(rest[i+len("/manifests/"):], "/") {
		return rest[:i], "manifest " + rest[i+len("/manifests/"):], true
	}
	if i := strings.LastIndex(rest, "/referrers/"); i > 0 && !strings.Contains(rest[i+len("/referrers/"):], "/") {
		return rest[:i], "the referrers of " + rest[i+len("/referrers/"):], true
	}
	return "", "", false
}

// Budget reads R and fails with Err once more than Left bytes are read:
// Left counts down and says what is left (below 0 once it failed). It asks
// R for one byte past the budget at most, so a bound is met without
// reading far over it. The registry bounds bodies with it, inventory
// decompressed layers.
type Budget struct {
	R    io.Reader
	Left int64
	Err  error
}

func (b *Budget) Read(p []byte) (int, error) {
	if int64(len(p)) > b.Left+1 {
		p = p[:b.Left+1]
	}
	n, err := b.R.Read(p)
	b.Left -= int64(n)
	if b.Left < 0 {
		return 0, b.Err
	}
	return n, err
}

// limitedBody is a response body within a Budget, failing at once when the
// announced length is already over it (early).
type limitedBody struct {
	Budget
	rc    io.Closer
	early bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.early {
		return 0, b.Err
	}
	return b.Budget.Read(p)
}

func (b *limitedBody) Close() error { return b.rc.Close() }
