package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageBinary is where the image holds the plugin: the full binary
// (cghistory-full of the archive) alone, as the image has no docker CLI to
// run the front. Named without the "docker-" prefix it runs standalone,
// taking its command from its first argument: "cgpin --check .".
const ImageBinary = "/usr/local/bin/cghistory"

// ImageUser is the image's user: nonroot, as in Chainguard's images.
const ImageUser = "65532:65532"

// maxBinary bounds the binary read out of an archive.
const maxBinary = 256 << 20

// ImageOptions say what Image builds.
type ImageOptions struct {
	Base      string     // the base image reference (an index, or one image)
	Dist      string     // the directory holding the linux archives
	Platforms []Platform // linux platforms to build
	Version   string
	Revision  string // the commit
	Source    string // the repository URL
	Epoch     time.Time
	Keychain  authn.Keychain // credentials for the base; authn.DefaultKeychain when nil
}

// Image builds a multi-platform OCI index: per platform, the base image's
// build for it with one layer holding the full binary from that platform's
// archive, it as entrypoint, a non-root user and OCI labels. It
// needs no docker daemon.
func Image(ctx context.Context, opts ImageOptions) (v1.ImageIndex, error) {
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	base, err := name.ParseReference(opts.Base)
	if err != nil {
		return nil, fmt.Errorf("base image: %w", err)
	}
	labels := map[string]string{
		"org.opencontainers.image.title":     Project,
		"org.opencontainers.image.source":    opts.Source,
		"org.opencontainers.image.revision":  opts.Revision,
		"org.opencontainers.image.version":   opts.Version,
		"org.opencontainers.image.licenses":  "Apache-2.0",
		"org.opencontainers.image.created":   opts.Epoch.UTC().Format(time.RFC3339),
		"org.opencontainers.image.base.name": opts.Base,
	}
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range opts.Platforms {
		if p.OS != "linux" {
			return nil, fmt.Errorf("image: %s is not a linux platform", p)
		}
		plat := v1.Platform{OS: p.OS, Architecture: p.Arch, Variant: p.Variant}
		img, err := remote.Image(base, remote.WithContext(ctx), remote.WithAuthFromKeychain(opts.Keychain), remote.WithPlatform(plat))
		if err != nil {
			return nil, fmt.Errorf("base image %s for %s: %w", opts.Base, p, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("base image %s for %s: %w", opts.Base, p, err)
		}
		if cf.OS != plat.OS || cf.Architecture != plat.Architecture || (plat.Variant != "" && cf.Variant != plat.Variant) {
			return nil, fmt.Errorf("base image %s has no %s build (it is %s/%s)", opts.Base, p, cf.OS, cf.Architecture)
		}
		bin, err := ArchiveMember(filepath.Join(opts.Dist, p.Archive()), Full)
		if err != nil {
			return nil, err
		}
		layer, err := binaryLayer(bin, opts.Epoch)
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: opts.Epoch.UTC()}, CreatedBy: "docker-cghistory " + opts.Version, Comment: "the plugin (" + Full + "), from " + p.Archive()},
		})
		if err != nil {
			return nil, err
		}
		cf, err = img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cf = cf.DeepCopy()
		cf.Created = v1.Time{Time: opts.Epoch.UTC()}
		cf.Config.Entrypoint = []string{ImageBinary}
		cf.Config.Cmd = []string{"cghistory", "--help"}
		cf.Config.User = ImageUser
		if cf.Config.Labels == nil {
			cf.Config.Labels = map[string]string{}
		}
		for k, v := range labels {
			cf.Config.Labels[k] = v
		}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plat}})
	}
	return mutate.Annotations(idx, labels).(v1.ImageIndex), nil
}

// WriteLayout writes the index as an OCI image layout in dir, replacing what
// an earlier run wrote there.
func WriteLayout(dir string, idx v1.ImageIndex) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	_, err := layout.Write(dir, idx)
	return err
}

// Push pushes the index to ref and returns its digest.
func Push(ctx context.Context, ref string, idx v1.ImageIndex, kc authn.Keychain) (v1.Hash, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	if err := remote.WriteIndex(r, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	return idx.Digest()
}

// binaryLayer is a layer holding the full binary at ImageBinary, 0755, owned by
// root, with the epoch as its time.
func binaryLayer(bin []byte, epoch time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"usr/", "usr/local/", "usr/local/bin/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch.UTC(), Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: ImageBinary[1:], Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin)), ModTime: epoch.UTC(), Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	// WithCompressedCaching: the layer is compressed once, for its digest,
	// and those bytes are written out, not compressed a second time (same
	// bytes: gzip at one level is deterministic).
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithCompressedCaching)
}

// ArchiveMember reads one regular file (at most 256 MiB) out of a release
// tar.gz.
func ArchiveMember(archive, member string) ([]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, fmt.Errorf("reading %s (run make dist first): %w", archive, err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s holds no %s", archive, member)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		if hdr.Name != member || hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Size > maxBinary {
			return nil, fmt.Errorf("%s: %s is %d bytes, over the limit of %d MiB", archive, member, hdr.Size, maxBinary>>20)
		}
		return io.ReadAll(io.LimitReader(tr, maxBinary))
	}
}
