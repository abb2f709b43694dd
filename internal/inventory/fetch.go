package inventory

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/package-url/packageurl-go"
)

// Sources of an inventory.
const (
	SourceAuto   = "auto"
	SourceSBOM   = "sbom"
	SourceLayers = "layers"
)

// ErrUnverified means an SBOM attestation's signature does not verify.
var ErrUnverified = errors.New("unverified SBOM")

// ErrNoInventory means neither an SBOM nor a known package database was found.
var ErrNoInventory = errors.New("no package inventory found")

// Fetcher reads inventories of platform images from a registry, caching
// them on disk by image digest (images are immutable).
type Fetcher struct {
	Registry *registry.Client
	Cache    *cache.Cache // nil: no disk cache
	// Mirrors maps pull-through caches to their upstreams: an SBOM a mirror
	// lacks (many do not copy .att tags or referrers) is read upstream.
	Mirrors ref.MirrorMap
	// Verify, when set, checks each SBOM attestation's signature and
	// subject before it is used (--verify); one that fails is an error, not
	// a reason to read the layers. VerifyKey names the policy in cache keys.
	Verify    AttestationVerifier
	VerifyKey string
	// Soft makes a failed verification a warning: the SBOM is not used and
	// the layers are read instead (cgdiff without --verify).
	Soft bool
	// Progress, when set, hears what is being downloaded.
	Progress func(format string, args ...any)
	// Limits bound what reading the layers may cost (zero fields: the
	// defaults).
	Limits Limits
}

// Limits bound what reading an image's package databases from its layers
// may cost, since a layer can be a decompression bomb: a tar of files of
// zeros, or of thousands of status.d files under the per-file bound. Past
// one, the inventory fails with registry.ErrTooLarge, naming the
// repository, the layer and the limit.
type Limits struct {
	// File bounds one package database file (default DefaultMaxFile).
	File int64
	// KeptPerLayer and Kept bound the database files kept in memory from
	// one layer and from all of an image's layers (defaults
	// DefaultMaxKeptPerLayer, DefaultMaxKept).
	KeptPerLayer, Kept int64
	// LayerBytes and ImageBytes bound the decompressed bytes read from one
	// layer and from all of an image's layers (defaults
	// DefaultMaxLayerBytes, DefaultMaxImageBytes).
	LayerBytes, ImageBytes int64
}

// Default limits. Real databases are far smaller: a large Debian status
// file has a few MiB, Wolfi's apk database of a big image a few hundred KiB.
const (
	DefaultMaxFile         = 64 << 20
	DefaultMaxKeptPerLayer = 64 << 20
	DefaultMaxKept         = 128 << 20
	DefaultMaxLayerBytes   = 8 << 30
	DefaultMaxImageBytes   = 16 << 30
)

// orDefaults fills zero fields with the defaults.
func (l Limits) orDefaults() Limits {
	return Limits{
		File:         cmp.Or(l.File, DefaultMaxFile),
		KeptPerLayer: cmp.Or(l.KeptPerLayer, DefaultMaxKeptPerLayer),
		Kept:         cmp.Or(l.Kept, DefaultMaxKept),
		LayerBytes:   cmp.Or(l.LayerBytes, DefaultMaxLayerBytes),
		ImageBytes:   cmp.Or(l.ImageBytes, DefaultMaxImageBytes),
	}
}

// AttestationVerifier checks an attestation (a DSSE envelope, one layer of
// an attestation manifest) for image; it returns who signed it.
type AttestationVerifier interface {
	VerifyAttestation(repo name.Repository, image v1.Hash, layer v1.Descriptor, envelope []byte) (string, error)
}

func (f *Fetcher) progress(format string, args ...any) {
	if f.Progress != nil {
		f.Progress(format, args...)
	}
}

// Fetch returns the inventory of the platform image digest in repo, from
// source "sbom", "layers" or "auto" (the SBOM attestation when there is
// one, else the layers).
func (f *Fetcher) Fetch(ctx context.Context, repo name.Repository, digest v1.Hash, source string) (*Inventory, error) {
	key := "v2-" + digest.Hex + "-" + source
	if f.Verify != nil {
		key = cache.Key(key, "verified", f.VerifyKey)
	}
	var inv Inventory
	if f.Cache.GetJSON("inventories", key, &inv) {
		return &inv, nil
	}
	var got *Inventory
	var err error
	switch source {
	case SourceSBOM:
		got, err = f.sbom(ctx, repo, digest)
	case SourceLayers:
		got, err = f.fromLayers(ctx, repo, digest)
	case SourceAuto, "":
		got, err = f.sbom(ctx, repo, digest)
		if errors.Is(err, ErrNoInventory) || errors.Is(err, registry.ErrTooLarge) || errors.Is(err, ErrUnverified) {
			var lerr error
			if got, lerr = f.fromLayers(ctx, repo, digest); lerr != nil {
				return nil, fmt.Errorf("%w (tried an SPDX SBOM attestation: %v)", lerr, err)
			}
			if errors.Is(err, ErrUnverified) {
				got.Warning = err.Error() + "; read the layers instead"
			}
			err = nil
		}
	default:
		return nil, fmt.Errorf("unknown --source %q: want auto, sbom or layers", source)
	}
	if err != nil {
		return nil, err
	}
	got.Sort()
	_ = f.Cache.PutJSON("inventories", key, got)
	return got, nil
}

// sbom reads the SBOM attestation from repo, or from its upstream when repo
// is a mirror that has none (the digest is the same on both).
func (f *Fetcher) sbom(ctx context.Context, repo name.Repository, digest v1.Hash) (*Inventory, error) {
	inv, err := f.fromSBOM(ctx, repo, digest)
	if up, ok := f.Mirrors.Upstream(repo); ok && errors.Is(err, ErrNoInventory) {
		if upInv, upErr := f.fromSBOM(ctx, up, digest); upErr == nil {
			return upInv, nil
		}
	}
	return inv, err
}

// fromSBOM reads the SPDX attestation cosign attached as sha256-<hex>.att,
// or else one attached through the OCI referrers API.
func (f *Fetcher) fromSBOM(ctx context.Context, repo name.Repository, digest v1.Hash) (*Inventory, error) {
	tag := repo.Tag(fmt.Sprintf("sha256-%s.att", digest.Hex))
	f.progress("looking for the SBOM of %s", digest.String()[:19])
	_, body, err := f.Registry.TagManifest(ctx, tag)
	if err == nil {
		inv, err := f.sbomFromManifest(ctx, repo, digest, tag.TagStr(), body)
		if !errors.Is(err, ErrNoInventory) {
			return inv, err
		}
	} else if !errors.Is(err, registry.ErrNotFound) {
		return nil, err
	}
	refs, rerr := f.Registry.Referrers(ctx, repo, digest)
	if rerr != nil && !errors.Is(rerr, registry.ErrNotFound) {
		return nil, rerr
	}
	for _, d := range refs {
		if d.ArtifactType != "" && !strings.Contains(d.ArtifactType, "in-toto") && !strings.Contains(d.ArtifactType, "sigstore.bundle") && !strings.Contains(d.ArtifactType, "dsse") {
			continue
		}
		_, body, err := f.Registry.Manifest(ctx, repo, d.Digest)
		if err != nil {
			return nil, err
		}
		inv, err := f.sbomFromManifest(ctx, repo, digest, "referrer "+d.Digest.String(), body)
		if !errors.Is(err, ErrNoInventory) {
			return inv, err
		}
	}
	return nil, fmt.Errorf("%w: no attestation tag %s and no SPDX attestation among %d referrers", ErrNoInventory, tag.TagStr(), len(refs))
}

// sbomFromManifest reads the SPDX attestation among an attestation
// manifest's layers (DSSE envelopes or sigstore bundles).
func (f *Fetcher) sbomFromManifest(ctx context.Context, repo name.Repository, image v1.Hash, where string, body []byte) (*Inventory, error) {
	m, err := v1.ParseManifest(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("attestation manifest %s: %w", where, err)
	}
	for _, l := range m.Layers {
		if pt := l.Annotations["predicateType"]; pt != "" && pt != SPDXPredicateType {
			continue
		}
		blob, err := f.Registry.Blob(ctx, repo, l)
		if err != nil {
			return nil, err
		}
		verifiedBy := ""
		if f.Verify != nil {
			if verifiedBy, err = f.Verify.VerifyAttestation(repo, image, l, blob); err != nil {
				if f.Soft {
					return nil, fmt.Errorf("%w: the SBOM attestation in %s does not verify: %v", ErrUnverified, where, err)
				}
				return nil, fmt.Errorf("SBOM attestation in %s does not verify: %w", where, err)
			}
		}
		pt, pred, err := ParseAttestation(bytes.NewReader(blob))
		if err != nil {
			return nil, fmt.Errorf("attestation %s: %w", l.Digest, err)
		}
		if pt != SPDXPredicateType {
			continue
		}
		pkgs, err := ParseSPDX(bytes.NewReader(pred))
		if err != nil {
			return nil, fmt.Errorf("SBOM in %s: %w", l.Digest, err)
		}
		inv := &Inventory{Packages: pkgs, Source: SourceSBOM, VerifiedBy: verifiedBy}
		for _, p := range pkgs {
			if p.Type == "apk" && inv.Distro == "" {
				inv.Distro = p.Namespace
				// syft writes distro=alpine-3.16.2 into its purls.
				if pu, err := packageurl.FromString(p.PURL); err == nil {
					if d, v, ok := strings.Cut(pu.Qualifiers.Map()["distro"], "-"); ok && d == p.Namespace {
						inv.DistroVersion = v
					}
				}
			}
		}
		return inv, nil
	}
	return nil, fmt.Errorf("%w: %s holds no SPDX attestation", ErrNoInventory, where)
}

// Package database locations, as in the image's file system.
var (
	apkDBs     = []string{"lib/apk/db/installed", "usr/lib/apk/db/installed"}
	dpkgStatus = "var/lib/dpkg/status"
	dpkgDir    = "var/lib/dpkg/status.d/"
	osReleases = []string{"etc/os-release", "usr/lib/os-release"}
)

// fromLayers reads the package database from the image's layers, streaming
// them from the top and stopping as soon as the database (and os-release)
// is known. Whiteouts in upper layers hide files below them.
func (f *Fetcher) fromLayers(ctx context.Context, repo name.Repository, digest v1.Hash) (*Inventory, error) {
	m, err := f.Registry.ImageManifest(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	sc := &layerScan{hidden: map[string]bool{}, statusD: map[string][]byte{}, limits: f.Limits.orDefaults(), repo: repo, image: digest}
	for i := len(m.Layers) - 1; i >= 0 && !sc.done(); i-- {
		f.progress("reading layer %d/%d of %s (%s)", len(m.Layers)-i, len(m.Layers), digest.String()[:19], sizeText(m.Layers[i].Size))
		if err := f.scanLayer(ctx, repo, m.Layers[i], sc); err != nil {
			return nil, err
		}
	}
	inv := &Inventory{Source: SourceLayers, Distro: sc.distro, DistroVersion: sc.version}
	switch {
	case sc.apk != nil:
		ns := sc.distro
		if ns == "" {
			ns = "alpine"
		}
		if inv.Packages, err = ParseAPK(bytes.NewReader(sc.apk), ns); err != nil {
			return nil, err
		}
	case sc.dpkg != nil || len(sc.statusD) > 0:
		ns := sc.distro
		if ns == "" {
			ns = "debian"
		}
		if sc.dpkg != nil {
			if inv.Packages, err = ParseDpkg(bytes.NewReader(sc.dpkg), ns); err != nil {
				return nil, err
			}
		}
		for name, data := range sc.statusD {
			ps, err := ParseDpkg(bytes.NewReader(data), ns)
			if err != nil {
				return nil, fmt.Errorf("%s%s: %w", dpkgDir, name, err)
			}
			inv.Packages = append(inv.Packages, ps...)
		}
	default:
		return nil, fmt.Errorf("%w: no apk (%s) or dpkg (%s, %s) database in the layers", ErrNoInventory,
			strings.Join(apkDBs, ", "), dpkgStatus, dpkgDir)
	}
	return inv, nil
}

type layerScan struct {
	hidden  map[string]bool // paths whited out by upper layers
	apk     []byte
	dpkg    []byte
	statusD map[string][]byte
	distro  string
	version string
	osSeen  bool

	limits Limits
	repo   name.Repository
	image  v1.Hash
	kept   int64 // bytes of database files kept, over all layers
	read   int64 // decompressed bytes read, over all layers
}

// tooLarge reports a layer past one of sc's limits.
func (sc *layerScan) tooLarge(subject, format string, args ...any) error {
	return &registry.Error{Kind: registry.ErrTooLarge, Host: sc.repo.RegistryStr(), Repo: sc.repo.RepositoryStr(),
		Subject: subject, Err: fmt.Errorf(format, args...)}
}

// done: a single-file database and os-release are known. status.d spreads
// over layers, so it needs them all.
func (s *layerScan) done() bool {
	return (s.apk != nil || s.dpkg != nil) && s.osSeen && len(s.statusD) == 0
}

func (s *layerScan) isHidden(p string) bool {
	for d := p; d != "." && d != "/" && d != ""; d = path.Dir(d) {
		if s.hidden[d] {
			return true
		}
	}
	return false
}

// scanLayer reads one layer (gzip, zstd or uncompressed), keeping the
// files sc wants. It reads the layer to its end, so that a layer whose bytes
// do not match its digest fails (registry.ErrIntegrity) and is never used.
func (f *Fetcher) scanLayer(ctx context.Context, repo name.Repository, l v1.Descriptor, sc *layerScan) error {
	layer, err := f.Registry.Layer(ctx, repo, l)
	if err != nil {
		return err
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	defer rc.Close()
	// The layer may read what is left of the image's budget, and at most
	// its own.
	r := &registry.Budget{R: rc, Left: sc.limits.LayerBytes,
		Err: sc.tooLarge("layer "+l.Digest.String(), "more than %s decompressed, the limit per layer", bytesText(sc.limits.LayerBytes))}
	if left := sc.limits.ImageBytes - sc.read; left < r.Left {
		r.Left = left
		r.Err = sc.tooLarge("image "+sc.image.String(), "more than %s decompressed from its layers, the limit per image", bytesText(sc.limits.ImageBytes))
	}
	start := r.Left
	defer func() { sc.read += start - r.Left }()
	if err := sc.scanTar(r, l); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, r); errors.Is(err, registry.ErrTooLarge) {
		return err
	} else if err != nil {
		return fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	return nil
}

// scanTar reads a layer's tar stream into sc.
func (sc *layerScan) scanTar(r io.Reader, l v1.Descriptor) error {
	tr := tar.NewReader(r)
	var whiteouts []string
	var kept int64 // bytes of database files kept from this layer
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, registry.ErrTooLarge) {
			return err // names the layer already
		}
		if err != nil {
			return fmt.Errorf("layer %s: %w", l.Digest, err)
		}
		p := path.Clean(strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/"))
		dir, base := path.Split(p)
		if strings.HasPrefix(base, ".wh.") {
			if base == ".wh..wh..opq" {
				whiteouts = append(whiteouts, path.Clean(dir)+"/*")
			} else {
				whiteouts = append(whiteouts, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
			}
			continue
		}
		if sc.isHidden(p) || h.Typeflag != tar.TypeReg {
			continue
		}
		want := func() bool {
			switch {
			case contains(apkDBs, p):
				return sc.apk == nil
			case p == dpkgStatus:
				return sc.dpkg == nil
			case strings.HasPrefix(p, dpkgDir):
				_, ok := sc.statusD[strings.TrimPrefix(p, dpkgDir)]
				return !ok && !strings.HasSuffix(p, ".md5sums")
			case contains(osReleases, p):
				return !sc.osSeen
			}
			return false
		}
		if !want() {
			continue
		}
		// Bounded by the header's size before reading: the tar reader
		// yields exactly that many bytes.
		lim := sc.limits
		switch {
		case h.Size > lim.File:
			return sc.tooLarge(fmt.Sprintf("%s (%s) in layer %s", p, bytesText(h.Size), l.Digest), "over the %s limit per package database file", bytesText(lim.File))
		case kept+h.Size > lim.KeptPerLayer:
			return sc.tooLarge("the package database files in layer "+l.Digest.String(), "more than %s, the limit per layer", bytesText(lim.KeptPerLayer))
		case sc.kept+h.Size > lim.Kept:
			return sc.tooLarge("the package database files of image "+sc.image.String(), "more than %s over its layers, the limit per image", bytesText(lim.Kept))
		}
		kept += h.Size
		sc.kept += h.Size
		data := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return fmt.Errorf("layer %s: %s: %w", l.Digest, p, err)
		}
		switch {
		case contains(apkDBs, p):
			sc.apk = data
		case p == dpkgStatus:
			sc.dpkg = data
		case strings.HasPrefix(p, dpkgDir):
			sc.statusD[strings.TrimPrefix(p, dpkgDir)] = data
		default:
			sc.osSeen = true
			sc.distro, sc.version = osRelease(data, "ID"), osRelease(data, "VERSION_ID")
		}
	}
	// This layer's whiteouts hide files of the layers below it only.
	for _, w := range whiteouts {
		sc.hidden[strings.TrimSuffix(w, "/*")] = true
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// osRelease returns the value of key in an os-release file.
func osRelease(data []byte, key string) string {
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// bytesText is a limit as errors say it ("64MiB").
func bytesText(n int64) string { return units.BytesSize(float64(n)) }

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
