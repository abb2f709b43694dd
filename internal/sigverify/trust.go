package sigverify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// MaxTrustedRoot bounds a trusted_root.json (the public-good one is about
// 20 KB; a private deployment's with many keys a few hundred).
const MaxTrustedRoot = 4 << 20

// LoadTrustedRoot reads the trusted material: the trusted_root.json at path,
// else Sigstore's public-good root through TUF (sigstore-go's embedded root,
// its metadata cached in tufCache when set and refreshed as it says; works
// offline once cached). key names the material in cache keys (Verifier's
// TrustKey): the sha256 of the file's bytes as read, so a root replaced or
// refreshed is never bypassed, and the same root always gives the same key
// (sigstore-go's re-serialised root is not stable: logs that share a start
// date come out in map order).
func LoadTrustedRoot(path, tufCache string) (tm root.TrustedMaterial, key string, err error) {
	var b []byte
	if path != "" {
		if b, err = readTrustedRoot(path); err != nil {
			return nil, "", err
		}
	} else {
		opts := tuf.DefaultOptions()
		if tufCache != "" {
			opts = opts.WithCachePath(filepath.Join(tufCache, "tuf"))
		}
		c, err := tuf.New(opts)
		if err != nil {
			return nil, "", fmt.Errorf("the Sigstore trusted root (TUF): %w", err)
		}
		if b, err = c.GetTarget("trusted_root.json"); err != nil {
			return nil, "", fmt.Errorf("the Sigstore trusted root (TUF): %w", err)
		}
		path = "the Sigstore trusted root (TUF)"
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	sum := sha256.Sum256(b)
	return tr, "root:" + hex.EncodeToString(sum[:]), nil
}

// readTrustedRoot reads a regular file of at most MaxTrustedRoot bytes.
func readTrustedRoot(path string) ([]byte, error) {
	// A FIFO or device would block or never end: refuse it unopened.
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxTrustedRoot+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxTrustedRoot {
		return nil, fmt.Errorf("%s: larger than the limit of %d MiB for a trusted root", path, MaxTrustedRoot>>20)
	}
	return b, nil
}
