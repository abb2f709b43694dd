package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// DefaultMaxBlobSize bounds a blob read into memory whole: an image
// config, an attestation (SBOMs of large images run to tens of MiB). Larger
// blobs fail with ErrTooLarge; layers are streamed and have no bound.
const DefaultMaxBlobSize = 64 << 20

// Platform is one platform's image: its manifest digest and compressed size
// (config plus layers).
type Platform struct {
	Platform v1.Platform
	Digest   v1.Hash
	Size     int64
}

// Manifest returns the manifest with the given digest, from the disk cache
// when present (manifests are immutable, cached by digest and verified on
// read), else from the registry.
func (c *Client) Manifest(ctx context.Context, repo name.Repository, digest v1.Hash) (types.MediaType, []byte, error) {
	cache := c.opts.Cache
	if body, ok := cache.GetBlob(digest); ok {
		if mt, ok := cache.Get("manifest-types", digest.Hex); ok {
			return types.MediaType(mt), body, nil
		}
	}
	opts, err := c.RemoteOptions(ctx, repo)
	if err != nil {
		return "", nil, err
	}
	desc, err := remote.Get(repo.Digest(digest.String()), opts...)
	if err != nil {
		return "", nil, c.translate(err, repo)
	}
	// remote.Get verified the body against digest.
	if cache.PutBlob(digest, desc.Manifest) == nil {
		_ = cache.Put("manifest-types", digest.Hex, []byte(desc.MediaType))
	}
	return desc.MediaType, desc.Manifest, nil
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

// Blob returns a small blob (an image config, an attestation) whole, from
// the disk cache (verified against its digest) or the registry (verified
// too, then cached). Blobs larger than MaxBlobSize fail with ErrTooLarge.
func (c *Client) Blob(ctx context.Context, repo name.Repository, desc v1.Descriptor) ([]byte, error) {
	if b, ok := c.opts.Cache.GetBlob(desc.Digest); ok {
		return b, nil
	}
	limit := c.opts.MaxBlobSize
	tooLarge := &Error{Kind: ErrTooLarge, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(),
		Subject: fmt.Sprintf("blob %s (%d bytes)", desc.Digest, desc.Size), Err: fmt.Errorf("over the %s limit for blobs read whole", units.BytesSize(float64(limit)))}
	if desc.Size > limit {
		return nil, tooLarge
	}
	l, err := c.Layer(ctx, repo, desc)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		tooLarge.Subject = "blob " + desc.Digest.String()
		return nil, tooLarge
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(b)); h != desc.Digest {
		return nil, integrityError(repo, desc)
	}
	_ = c.opts.Cache.PutBlob(desc.Digest, b)
	return b, nil
}

// Config returns an image's config file.
func (c *Client) Config(ctx context.Context, repo name.Repository, m *v1.Manifest) (*v1.ConfigFile, error) {
	b, err := c.Blob(ctx, repo, m.Config)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Err: fmt.Errorf("malformed image config: %w", err)}
	}
	return &cf, nil
}

// ImageManifest returns a platform image's parsed manifest.
func (c *Client) ImageManifest(ctx context.Context, repo name.Repository, digest v1.Hash) (*v1.Manifest, error) {
	mt, body, err := c.Manifest(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	if mt.IsIndex() {
		return nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Message: fmt.Sprintf("%s is an index, not an image", digest)}
	}
	m, err := v1.ParseManifest(bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Err: err}
	}
	return m, nil
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
				m, err := c.ImageManifest(gctx, repo, out[i].Digest)
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
	m, err := c.ImageManifest(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	cf, err := c.Config(ctx, repo, m)
	if err != nil {
		return nil, err
	}
	p := Platform{Digest: digest, Size: imageSize(m),
		Platform: v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion}}
	return []Platform{p}, nil
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
