package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/policy"
	"github.com/docker-cghistory/docker-cghistory/internal/sigverify"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/spf13/pflag"
)

// verifyOptions are the signature flags, named as cosign names them.
type verifyOptions = config.Verify

func addVerifyFlags(flags *pflag.FlagSet, opts *verifyOptions) {
	flags.BoolVar(&opts.Enabled, "verify", false, "Check Sigstore signatures (cgr.dev/chainguard: Chainguard's release identity by default)")
	flags.StringVar(&opts.Identity, "certificate-identity", "", "With --verify, the signer's identity (the certificate's subject alternative name)")
	flags.StringVar(&opts.IdentityRegexp, "certificate-identity-regexp", "", "With --verify, a regular expression for the signer's identity")
	flags.StringVar(&opts.Issuer, "certificate-oidc-issuer", "", "With --verify, the identity's OIDC issuer")
	flags.StringVar(&opts.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "With --verify, a regular expression for the OIDC issuer")
	flags.StringVar(&opts.Key, "key", "", "With --verify, a PEM public key: check key-based signatures (cosign sign --key) instead of identities")
	flags.StringVar(&opts.TrustedRoot, "trusted-root", "", "With --verify, a Sigstore trusted_root.json (default: the public-good root through TUF, cached)")
}

// imageVerifier checks images against the run's policy; a mirror's images
// are checked upstream when the mirror has no signatures.
type imageVerifier struct {
	v       *sigverify.Verifier
	policy  sigverify.Policy
	mirrors func(name.Repository) (name.Repository, bool)
	// soft: checking what can be checked without --verify (cgdiff's SBOMs
	// of images with a default policy); others pass unverified.
	soft bool

	once      sync.Once
	load      func() (root.TrustedMaterial, string, error)
	loadError error
}

// ready loads the trusted material on first use: a run that checks no
// signature never fetches it. Cached verifications are keyed by the
// trusted root file's bytes as read (never sigstore-go's re-serialised
// root, whose log order is unstable), so a root replaced at the same path
// or refreshed is never bypassed and the same root always finds them.
func (iv *imageVerifier) ready() error {
	iv.once.Do(func() {
		var key string
		iv.v.Trusted, key, iv.loadError = iv.load()
		if key != "" {
			iv.v.TrustKey = key
		}
	})
	return iv.loadError
}

// Verify implements pin.Verifier.
func (iv *imageVerifier) Verify(ctx context.Context, repo name.Repository, digest v1.Hash) error {
	_, err := iv.Check(ctx, repo, digest)
	return err
}

// Check verifies digest, returning who signed it.
func (iv *imageVerifier) Check(ctx context.Context, repo name.Repository, digest v1.Hash) (sigverify.Result, error) {
	policyRepo := repo
	up, mirrored := iv.mirrors(repo)
	if mirrored {
		policyRepo = up
	}
	policy, err := iv.policy.For(policyRepo)
	if err != nil {
		return sigverify.Result{}, err
	}
	if err := iv.ready(); err != nil {
		return sigverify.Result{}, err
	}
	r, err := iv.v.Verify(ctx, repo, digest, policy)
	if mirrored && errors.Is(err, sigverify.ErrUnsigned) {
		r, err = iv.v.Verify(ctx, up, digest, policy) // many caches copy no .sig tags
	}
	return r, err
}

// VerifyAttestation implements inventory.AttestationVerifier.
func (iv *imageVerifier) VerifyAttestation(repo name.Repository, image v1.Hash, layer v1.Descriptor, envelope []byte) (string, error) {
	policyRepo := repo
	if up, ok := iv.mirrors(repo); ok {
		policyRepo = up
	}
	policy, err := iv.policy.For(policyRepo)
	if err != nil && iv.soft {
		return "", nil // no policy to hold it to: read as before --verify
	}
	if err != nil {
		return "", err
	}
	if err := iv.ready(); err != nil {
		return "", err
	}
	r, err := iv.v.VerifyAttestation(repo, image, layer, envelope, policy)
	return r.Identity, err
}

// key names the policy and trusted material, for cache keys.
func (iv *imageVerifier) key() string {
	p := iv.policy
	k := ""
	if p.Key != nil {
		b, _ := cryptoutils.MarshalPublicKeyToPEM(p.Key)
		k = string(b)
	}
	return iv.v.TrustKey + "\x00" + p.Identity + "\x00" + p.IdentityRegexp + "\x00" + p.Issuer + "\x00" + p.IssuerRegexp + "\x00" + k
}

// CheckAll verifies builds of repo concurrently, in order.
func (iv *imageVerifier) CheckAll(ctx context.Context, repo name.Repository, digests []v1.Hash, jobs int) ([]sigverify.Outcome, error) {
	policyRepo := repo
	if up, ok := iv.mirrors(repo); ok {
		policyRepo = up
	}
	policy, err := iv.policy.For(policyRepo)
	if err != nil {
		return nil, err
	}
	if err := iv.ready(); err != nil {
		return nil, err
	}
	out := iv.v.Many(ctx, repo, digests, policy, jobs)
	return out, ctx.Err()
}

// verifier builds the run's signature checker, or nil without --verify.
func (d *deps) verifier(opts verifyOptions) (*imageVerifier, error) {
	if !opts.Enabled {
		if opts.Identity+opts.IdentityRegexp+opts.Issuer+opts.IssuerRegexp+opts.TrustedRoot+opts.Key != "" {
			return nil, errors.New("the certificate, key and trusted-root flags go with --verify")
		}
		return nil, nil
	}
	pol := sigverify.Policy{Identity: opts.Identity, IdentityRegexp: opts.IdentityRegexp, Issuer: opts.Issuer, IssuerRegexp: opts.IssuerRegexp}
	if opts.Key != "" {
		if !pol.Empty() {
			return nil, errors.New("--key checks key-based signatures: it does not go with the certificate flags")
		}
		label := pathLabel("--key", opts.KeyIn)
		pem, err := policy.ReadFile(opts.Key, opts.KeyIn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		// Never the parser's error: it may quote the file, which could be
		// any file (a token, named by mistake or by a hostile policy).
		if pol.Key, err = cryptoutils.UnmarshalPEMToPublicKey(pem); err != nil {
			return nil, fmt.Errorf("%s %s: not a PEM public key (as cosign generate-key-pair writes cosign.pub)", label, opts.Key)
		}
	}
	trustKey := "public-good"
	var rootJSON []byte
	if opts.TrustedRoot != "" {
		b, err := policy.ReadFile(opts.TrustedRoot, opts.TrustedRootIn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pathLabel("--trusted-root", opts.TrustedRootIn), err)
		}
		rootJSON = b
		sum := sha256.Sum256(b)
		trustKey = "root:" + hex.EncodeToString(sum[:])
	}
	iv := &imageVerifier{
		v:       &sigverify.Verifier{Registry: d.client, Cache: d.cache, TrustKey: trustKey},
		policy:  pol,
		mirrors: d.mirrors.Upstream,
		load: func() (root.TrustedMaterial, string, error) {
			if opts.TrustedRoot != "" {
				tr, err := parseTrustedRoot(pathLabel("--trusted-root", opts.TrustedRootIn), opts.TrustedRoot, rootJSON)
				return tr, trustKey, err
			}
			return publicGoodRoot(d.cache.Dir)
		},
	}
	if opts.TrustedRoot != "" { // a bad file is a usage error, now
		if err := iv.ready(); err != nil {
			return nil, err
		}
	}
	return iv, nil
}

// pathLabel names a file's flag in errors, or its key in the policy file.
func pathLabel(flag, within string) string {
	if within != "" {
		return strings.TrimPrefix(flag, "--") + " (" + policy.FileName + ")"
	}
	return flag
}

// publicGoodRoot is Sigstore's public-good trusted root through TUF
// (sigstore-go's embedded root, cached beside the plugin's cache and
// refreshed as its metadata says; works offline once cached), with the key
// that names it in caches.
func publicGoodRoot(cacheDir string) (root.TrustedMaterial, string, error) {
	tm, key, err := sigverify.LoadTrustedRoot("", cacheDir)
	if err != nil {
		return nil, "", fmt.Errorf("%w (pass --trusted-root FILE when offline)", err)
	}
	return tm, key, nil
}

// protoPosition is where protojson stopped, as its errors say it.
var protoPosition = regexp.MustCompile(`line \d+:\d+`)

// parseTrustedRoot reads a trusted_root.json. Its errors say where the file
// is wrong, never what it holds: the JSON and protobuf parsers quote the
// bytes they stop at, and the file may be any file (a token, named by
// mistake or by a hostile policy).
func parseTrustedRoot(label, path string, data []byte) (*root.TrustedRoot, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		at := ""
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			at = fmt.Sprintf(" (a syntax error at byte %d)", se.Offset)
		}
		return nil, fmt.Errorf("%s %s: not JSON%s: want a Sigstore trusted_root.json", label, path, at)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		at := ""
		if m := protoPosition.FindString(err.Error()); m != "" {
			at = " (at " + m + ")"
		}
		return nil, fmt.Errorf("%s %s: not a Sigstore trusted_root.json%s", label, path, at)
	}
	return tr, nil
}
