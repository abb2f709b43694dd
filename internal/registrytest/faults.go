package registrytest

import (
	"bytes"
	"net/http"
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var blobPath = regexp.MustCompile(`^/v2/(.+)/blobs/([^/]+)$`)

// CorruptBlob makes every later GET of the blob with this digest (in any
// repository) answer 200 with the same length but one byte changed, as a
// broken mirror or disk would; HEAD requests are unchanged.
func (s *Server) CorruptBlob(d v1.Hash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[d] = true
}

// corrupts reports whether r is a GET of a blob marked by CorruptBlob.
func (s *Server) corrupts(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	m := blobPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return false
	}
	d, err := v1.NewHash(m[2])
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.corrupt[d]
}

// serveCorrupted lets the registry answer r into a buffer and, when the
// answer is a successful body, sends it with its last byte flipped. The
// registry's headers (Content-Length, Docker-Content-Digest) pass unchanged.
func (s *Server) serveCorrupted(w http.ResponseWriter, r *http.Request) {
	bw := &bufferingWriter{header: w.Header()}
	s.app.ServeHTTP(bw, r)
	if bw.status == 0 {
		bw.status = http.StatusOK
	}
	body := bw.buf.Bytes()
	if (bw.status == http.StatusOK || bw.status == http.StatusPartialContent) && len(body) > 0 {
		body[len(body)-1] ^= 0xff
	}
	w.WriteHeader(bw.status)
	_, _ = w.Write(body)
}

// bufferingWriter holds a response's status and body until it is sent;
// its headers are the real response's.
type bufferingWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferingWriter) Header() http.Header { return b.header }

func (b *bufferingWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferingWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}
