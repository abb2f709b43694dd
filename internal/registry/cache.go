package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DiskCache keeps registry tokens, auth challenges and manifests between runs
// under one directory (0700, files 0600). A zero Dir disables it.
type DiskCache struct {
	Dir string
}

// DefaultCacheDir is $CGHISTORY_CACHE_DIR, else the user cache dir + "/docker-cghistory".
func DefaultCacheDir() string {
	if d := os.Getenv("CGHISTORY_CACHE_DIR"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "docker-cghistory")
}

type cachedToken struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

type cachedChallenge struct {
	Scheme     string            `json:"scheme"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Insecure   bool              `json:"insecure"`
}

func hashKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (d DiskCache) path(kind, key string) string { return filepath.Join(d.Dir, kind, key+".json") }

// Get decodes the cached JSON for kind/key into v; false when absent.
func (d DiskCache) Get(kind, key string, v any) bool { return d.read(kind, key, v) }

// Put stores v as JSON under kind/key (0600 files in 0700 directories).
func (d DiskCache) Put(kind, key string, v any) error { return d.write(kind, key, v) }

// read decodes the cached JSON for kind/key into v; false when absent or unreadable.
func (d DiskCache) read(kind, key string, v any) bool {
	if d.Dir == "" {
		return false
	}
	b, err := os.ReadFile(d.path(kind, key))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// write stores v atomically with mode 0600 in a 0700 directory.
func (d DiskCache) write(kind, key string, v any) error {
	if d.Dir == "" {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return d.writeBytes(kind, key, b)
}

func (d DiskCache) writeBytes(kind, key string, b []byte) error {
	dir := filepath.Join(d.Dir, kind)
	for _, p := range []string{d.Dir, dir} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
		if err := os.Chmod(p, 0o700); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("cache: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	// CreateTemp makes 0600 files already.
	return os.Rename(f.Name(), d.path(kind, key))
}

func (d DiskCache) remove(kind, key string) {
	if d.Dir != "" {
		_ = os.Remove(d.path(kind, key))
	}
}

func (d DiskCache) cachedToken(key string, now time.Time) (cachedToken, bool) {
	var t cachedToken
	if !d.read("tokens", key, &t) || t.Token == "" || !now.Before(t.Expires) {
		return cachedToken{}, false
	}
	return t, true
}

func (d DiskCache) challenge(host string) (*transport.Challenge, bool) {
	var c cachedChallenge
	if !d.read("challenges", hashKey(host), &c) {
		return nil, false
	}
	return &transport.Challenge{Scheme: c.Scheme, Parameters: c.Parameters, Insecure: c.Insecure}, true
}

func (d DiskCache) saveChallenge(host string, c *transport.Challenge) error {
	return d.write("challenges", hashKey(host), cachedChallenge{Scheme: c.Scheme, Parameters: c.Parameters, Insecure: c.Insecure})
}
