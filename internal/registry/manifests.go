package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// maxBlobSize bounds manifests and config blobs read into memory.
const maxBlobSize = 8 << 20

// Platform is one platform's image: its manifest digest and compressed size
// (config plus layers).
type Platform struct {
	Platform v1.Platform
	Digest   v1.Hash
	Size     int64
}

type cachedManifest struct {
	MediaType types.MediaType `json:"mediaType"`
	Body      []byte          `json:"body"`
}

// Manifest returns the manifest with the given digest, from the disk cache
// when present (manifests are immutable), else from the registry.
func (c *Client) Manifest(ctx context.Context, repo name.Repository, digest v1.Hash) (types.MediaType, []byte, error) {
	var cm cachedManifest
	if c.opts.Cache.read("manifests", digest.Hex, &cm) && sha256Hex(cm.Body) == digest.Hex {
		return cm.MediaType, cm.Body, nil
	}
	opts, err := c.RemoteOptions(ctx, repo)
	if err != nil {
		return "", nil, err
	}
	desc, err := remote.Get(repo.Digest(digest.String()), opts...)
	if err != nil {
		return "", nil, c.translate(err, repo)
	}
	_ = c.opts.Cache.write("manifests", digest.Hex, cachedManifest{MediaType: desc.MediaType, Body: desc.Manifest})
	return desc.MediaType, desc.Manifest, nil
}

// OpenBlob streams a blob (a layer); the caller closes it. Callers that need
// integrity read it whole and compare digests, or trust the registry's TLS.
func (c *Client) OpenBlob(ctx context.Context, repo name.Repository, digest v1.Hash) (io.ReadCloser, error) {
	hc, err := c.HTTPClient(ctx, repo)
	if err != nil {
		return nil, err
	}
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, RequestError(repo.RegistryStr(), err)
	}
	if err := c.CheckResponse(resp, repo.RepositoryStr()); err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// TagManifest fetches the manifest a tag points to now (not cached: tags move).
func (c *Client) TagManifest(ctx context.Context, tag name.Tag) (types.MediaType, []byte, error) {
	opts, err := c.RemoteOptions(ctx, tag.Context())
	if err != nil {
		return "", nil, err
	}
	desc, err := remote.Get(tag, opts...)
	if err != nil {
		return "", nil, c.translate(err, tag.Context())
	}
	return desc.MediaType, desc.Manifest, nil
}

// Blob returns a small blob (an image config, an attestation), cached on
// disk by digest and verified against it.
func (c *Client) Blob(ctx context.Context, repo name.Repository, digest v1.Hash) ([]byte, error) {
	path := c.opts.Cache.path("blobs", digest.Hex)
	if c.opts.Cache.Dir != "" {
		if b, err := os.ReadFile(path); err == nil && sha256Hex(b) == digest.Hex {
			return b, nil
		}
	}
	body, err := c.OpenBlob(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxBlobSize+1))
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", digest, err)
	}
	if len(b) > maxBlobSize || sha256Hex(b) != digest.Hex {
		return nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Message: "blob " + digest.String() + " is oversized or does not match its digest"}
	}
	_ = c.opts.Cache.writeBytes("blobs", digest.Hex, b)
	return b, nil
}

// Platforms resolves an image digest to its per-platform images. An index
// lists each platform (attestation manifests are skipped); a single image
// reports its own platform from its config.
func (c *Client) Platforms(ctx context.Context, repo name.Repository, digest v1.Hash) ([]Platform, error) {
	mt, body, err := c.Manifest(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	if mt.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(body))
		if err != nil {
			return nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Err: err}
		}
		var out []Platform
		for _, d := range idx.Manifests {
			if d.Platform == nil || d.Platform.OS == "unknown" || !d.MediaType.IsImage() {
				continue
			}
			out = append(out, Platform{Platform: *d.Platform, Digest: d.Digest})
		}
		g, gctx := errgroup.WithContext(ctx)
		for i := range out {
			g.Go(func() error {
				_, m, err := c.imageManifest(gctx, repo, out[i].Digest)
				if err != nil {
					return err
				}
				out[i].Size = imageSize(m)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Platform.String() < out[j].Platform.String() })
		return out, nil
	}
	if !mt.IsImage() {
		return nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Message: fmt.Sprintf("%s is a %s, not an image", digest, mt)}
	}
	_, m, err := c.imageManifest(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	p := Platform{Digest: digest, Size: imageSize(m)}
	cfgBytes, err := c.Blob(ctx, repo, m.Config.Digest)
	if err != nil {
		return nil, err
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(cfgBytes, &cfg); err != nil {
		return nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Err: fmt.Errorf("image config: %w", err)}
	}
	p.Platform = v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant, OSVersion: cfg.OSVersion}
	return []Platform{p}, nil
}

func (c *Client) imageManifest(ctx context.Context, repo name.Repository, digest v1.Hash) (types.MediaType, *v1.Manifest, error) {
	mt, body, err := c.Manifest(ctx, repo, digest)
	if err != nil {
		return "", nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(body))
	if err != nil {
		return "", nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Err: err}
	}
	return mt, m, nil
}

func imageSize(m *v1.Manifest) int64 {
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// Digest returns the digest a tag points to now (a HEAD request).
func (c *Client) Digest(ctx context.Context, ref name.Reference) (v1.Hash, error) {
	repo := ref.Context()
	opts, err := c.RemoteOptions(ctx, repo)
	if err != nil {
		return v1.Hash{}, err
	}
	desc, err := remote.Head(ref, opts...)
	if err != nil {
		return v1.Hash{}, c.translate(err, repo)
	}
	return desc.Digest, nil
}

// Tags lists the repository's tags (following pagination).
func (c *Client) Tags(ctx context.Context, repo name.Repository) ([]string, error) {
	opts, err := c.RemoteOptions(ctx, repo)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(repo, opts...)
	if err != nil {
		return nil, c.translate(err, repo)
	}
	return tags, nil
}

// translate turns go-containerregistry errors into *Error.
func (c *Client) translate(err error, repo name.Repository) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return &Error{Kind: ErrUnreachable, Host: repo.RegistryStr(), Err: redactErr(err)}
	}
	var codes, msgs []string
	for _, d := range terr.Errors {
		codes = append(codes, string(d.Code))
		if d.Message != "" {
			msgs = append(msgs, d.Message)
		}
	}
	return c.statusError(repo.RegistryStr(), repo.RepositoryStr(), terr.StatusCode, codes, msgs)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Referrers lists the manifests that name digest as their subject (the OCI
// referrers API, or its "sha256-<hex>" tag fallback on older registries).
func (c *Client) Referrers(ctx context.Context, repo name.Repository, digest v1.Hash) ([]v1.Descriptor, error) {
	opts, err := c.RemoteOptions(ctx, repo)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(repo.Digest(digest.String()), opts...)
	if err != nil {
		return nil, c.translate(err, repo)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	return m.Manifests, nil
}
