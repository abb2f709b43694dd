// Package sigverify checks Sigstore signatures of images with sigstore-go
// (no cosign binary): cosign's "sha256-<hex>.sig" tags (one layer per
// signature: a simple-signing payload, with its certificate and Rekor bundle
// in annotations) and Sigstore bundles attached through the OCI referrers
// API. Each signature is turned into a Sigstore bundle and verified against
// the trusted root: the certificate chains to Fulcio, names the identity and
// issuer the policy asks for, the transparency log includes it (or a signed
// timestamp vouches for it), and the signature covers the image's digest.
package sigverify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	sigsig "github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/sync/errgroup"
)

// ChainguardIdentity and ChainguardIssuer sign Chainguard's public images
// (cgr.dev/chainguard/*), as Chainguard documents for cosign verify.
const (
	ChainguardIdentity = "https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main"
	ChainguardIssuer   = "https://token.actions.githubusercontent.com"
	// ChainguardOrgIssuer signs organisation images (cgr.dev/$ORG/*): the
	// identities are https://issuer.enforce.dev/<ID>, the IDs of the
	// organisation's CATALOG_SYNCER and APKO_BUILDER service bindings.
	ChainguardOrgIssuer = "https://issuer.enforce.dev"
)

// Policy says whose signature counts: cosign's identity options.
type Policy struct {
	Identity, IdentityRegexp string
	Issuer, IssuerRegexp     string
	// Key, when set, is the public key of key-based signatures (--key):
	// identities do not apply.
	Key crypto.PublicKey
}

// Empty reports a policy that names no identity and no key.
func (p Policy) Empty() bool {
	return p.Key == nil && p.Identity == "" && p.IdentityRegexp == "" && p.Issuer == "" && p.IssuerRegexp == ""
}

// check is a policy made ready: an identity, or a key.
type check struct {
	id  verify.CertificateIdentity
	key sigsig.Verifier
}

func (p Policy) prepare() (check, error) {
	if p.Key != nil {
		v, err := sigsig.LoadVerifier(p.Key, crypto.SHA256)
		return check{key: v}, err
	}
	id, err := p.identity()
	return check{id: id}, err
}

// For returns the policy for repo: p when it names an identity, else the
// built-in default for Chainguard's public images; other repositories need
// an identity named.
func (p Policy) For(repo name.Repository) (Policy, error) {
	if !p.Empty() {
		return p, nil
	}
	if repo.RegistryStr() == "cgr.dev" && strings.HasPrefix(repo.RepositoryStr(), "chainguard/") {
		return Policy{Identity: ChainguardIdentity, Issuer: ChainguardIssuer}, nil
	}
	if repo.RegistryStr() == "cgr.dev" {
		org, _, _ := strings.Cut(repo.RepositoryStr(), "/")
		return Policy{}, fmt.Errorf("say which identity signs %s: Chainguard signs cgr.dev/%s/* with --certificate-oidc-issuer %s and --certificate-identity-regexp '^%s/(<CATALOG_SYNCER>|<APKO_BUILDER>)$', the two IDs from `chainctl iam account-associations describe %s -o json` (.chainguard.service_bindings)",
			repo, org, ChainguardOrgIssuer, regexp.QuoteMeta(ChainguardOrgIssuer), org)
	}
	return Policy{}, fmt.Errorf("say which identity signs %s: --certificate-identity(-regexp) and --certificate-oidc-issuer(-regexp), or --key", repo)
}

func (p Policy) identity() (verify.CertificateIdentity, error) {
	if (p.Identity == "" && p.IdentityRegexp == "") || (p.Issuer == "" && p.IssuerRegexp == "") {
		return verify.CertificateIdentity{}, errors.New("a policy needs an identity and an issuer (exact or regexp)")
	}
	return verify.NewShortCertificateIdentity(p.Issuer, p.IssuerRegexp, p.Identity, p.IdentityRegexp)
}

// Reasons a verification fails, for errors.Is.
var (
	ErrUnsigned       = errors.New("no signature")
	ErrWrongIdentity  = errors.New("wrong identity")
	ErrWrongIssuer    = errors.New("wrong issuer")
	ErrBadSignature   = errors.New("bad signature")
	ErrNotInLog       = errors.New("not in the transparency log")
	ErrUntrusted      = errors.New("certificate not issued by a trusted authority")
	ErrOtherImage     = errors.New("signature is for another image")
	ErrBadSignatureDB = errors.New("malformed signature")
)

// Result is a successful verification.
type Result struct {
	Identity, Issuer string
	Format           string // "cosign" (.sig tag) or "bundle" (referrers)
}

// Error says why an image's signatures do not verify.
type Error struct {
	Ref    name.Digest
	Reason error   // one of the Err* reasons
	Detail []error // per signature
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %v", e.Ref, e.Reason)
	if len(e.Detail) > 0 {
		var ds []string
		for _, d := range e.Detail {
			ds = append(ds, d.Error())
		}
		s += " (" + strings.Join(ds, "; ") + ")"
	}
	return s
}

// Unwrap matches the reason.
func (e *Error) Unwrap() error { return e.Reason }

// Verifier checks signatures of images in registries.
type Verifier struct {
	Registry *registry.Client
	Trusted  root.TrustedMaterial
	// Cache, when set, keeps successful verifications by digest and policy
	// (a signed image stays signed; an unsigned one may be signed later, so
	// failures are not kept).
	Cache *cache.Cache
	// TrustKey names the trusted material in cache keys, so a verification
	// under one root is never reused under another.
	TrustKey string
}

// Outcome is one image's verification.
type Outcome struct {
	Result Result
	Err    error
}

// Many verifies digests of repo concurrently (jobs at a time), in order.
func (v *Verifier) Many(ctx context.Context, repo name.Repository, digests []v1.Hash, policy Policy, jobs int) []Outcome {
	out := make([]Outcome, len(digests))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(jobs, 1))
	for i, d := range digests {
		g.Go(func() error {
			out[i].Result, out[i].Err = v.Verify(gctx, repo, d, policy)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// Verify checks that image digest in repo has a signature that satisfies
// policy, in either storage format. For an index, the index's own digest
// is what is signed, as cosign signs it.
func (v *Verifier) Verify(ctx context.Context, repo name.Repository, digest v1.Hash, policy Policy) (Result, error) {
	ref := repo.Digest(digest.String())
	ck, err := policy.prepare()
	if err != nil {
		return Result{}, err
	}
	keyPEM := ""
	if policy.Key != nil {
		b, _ := cryptoutils.MarshalPublicKeyToPEM(policy.Key)
		keyPEM = string(b)
	}
	key := cache.Key(v.TrustKey, digest.String(), policy.Identity, policy.IdentityRegexp, policy.Issuer, policy.IssuerRegexp, keyPEM)
	var cached Result
	if v.Cache.GetJSON("signatures", key, &cached) {
		return cached, nil
	}
	r, err := v.verify(ctx, repo, ref, digest, ck)
	if err == nil {
		_ = v.Cache.PutJSON("signatures", key, r)
	}
	return r, err
}

func (v *Verifier) verify(ctx context.Context, repo name.Repository, ref name.Digest, digest v1.Hash, ck check) (Result, error) {
	sigs, err := v.signatures(ctx, repo, digest)
	if err != nil {
		return Result{}, err
	}
	if len(sigs) == 0 {
		return Result{}, &Error{Ref: ref, Reason: ErrUnsigned}
	}
	var details []error
	for _, s := range sigs {
		r, err := v.check(s, digest, ck)
		if err == nil {
			return r, nil
		}
		details = append(details, err)
	}
	return Result{}, &Error{Ref: ref, Reason: reason(details), Detail: details}
}

// signature is one signature found, as a bundle, with what it signs.
type signature struct {
	format  string
	bundle  *bundle.Bundle
	payload []byte // cosign: the simple-signing payload signed; nil for bundles (signed over the digest)
}

const (
	bundleArtifactType = "application/vnd.dev.sigstore.bundle"
	annSignature       = "dev.cosignproject.cosign/signature"
	annCertificate     = "dev.sigstore.cosign/certificate"
	annChain           = "dev.sigstore.cosign/chain"
	annBundle          = "dev.sigstore.cosign/bundle"
	annTimestamp       = "dev.sigstore.cosign/rfc3161timestamp"
	// annBundlePredicate names a referrer bundle's in-toto predicate type;
	// cosignSignPredicate is the one of a signature (cosign sign
	// --new-bundle-format signs an in-toto statement of this type), any
	// other is an attestation.
	annBundlePredicate  = "dev.sigstore.bundle.predicateType"
	cosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"
)

// signsImage reports whether a referrer bundle is a signature of the image:
// a message signature, or a DSSE envelope whose in-toto statement is of
// cosign's signature predicate type. An attestation (an SBOM signed by the
// same identity) says something about the image but is no signature of it,
// as cosign verify does not take one.
func signsImage(b *bundle.Bundle) bool {
	env := b.GetDsseEnvelope()
	if env == nil {
		return true
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	return json.Unmarshal(env.GetPayload(), &st) == nil && st.PredicateType == cosignSignPredicate
}

// signatures collects every signature of digest: cosign's .sig tag layers
// and Sigstore bundles among the referrers.
func (v *Verifier) signatures(ctx context.Context, repo name.Repository, digest v1.Hash) ([]signature, error) {
	var out []signature
	var errs []error
	tag := repo.Tag(fmt.Sprintf("%s-%s.sig", digest.Algorithm, digest.Hex))
	if _, body, err := v.Registry.TagManifest(ctx, tag); err == nil {
		m, err := v1.ParseManifest(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tag, err)
		}
		for _, l := range m.Layers {
			s, err := v.cosign(ctx, repo, l)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, s)
		}
	} else if !errors.Is(err, registry.ErrNotFound) {
		return nil, err
	}
	refs, err := v.Registry.Referrers(ctx, repo, digest)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return nil, err
	}
	for _, d := range refs {
		if !strings.HasPrefix(d.ArtifactType, bundleArtifactType) {
			continue
		}
		m, err := v.Registry.ImageManifest(ctx, repo, d.Digest)
		if err != nil {
			return nil, err
		}
		for _, l := range m.Layers {
			if pt, ok := l.Annotations[annBundlePredicate]; ok && pt != cosignSignPredicate {
				continue // an attestation (an SBOM, provenance): not a signature of the image
			}
			b, err := v.Registry.Blob(ctx, repo, l)
			if err != nil {
				return nil, err
			}
			var bd bundle.Bundle
			if err := bd.UnmarshalJSON(b); err != nil {
				errs = append(errs, fmt.Errorf("%w: bundle %s: %v", ErrBadSignatureDB, l.Digest, err))
				continue
			}
			if !signsImage(&bd) {
				continue
			}
			out = append(out, signature{format: "bundle", bundle: &bd})
		}
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// rekorBundle is cosign's "dev.sigstore.cosign/bundle" annotation.
type rekorBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

// cosign turns one layer of a .sig tag into a Sigstore bundle (v0.1: an
// inclusion promise, as cosign's Rekor bundle is).
func (v *Verifier) cosign(ctx context.Context, repo name.Repository, l v1.Descriptor) (signature, error) {
	bad := func(what string, err error) (signature, error) {
		return signature{}, fmt.Errorf("%w: layer %s: %s: %v", ErrBadSignatureDB, l.Digest, what, err)
	}
	payload, err := v.Registry.Blob(ctx, repo, l)
	if err != nil {
		return signature{}, err
	}
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[annSignature])
	if err != nil || len(sig) == 0 {
		return bad("signature", err)
	}
	vm, err := material(l, true)
	if err != nil {
		return bad("verification material", err)
	}
	sum := sha256.Sum256(payload)
	pb := &protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     sig,
		}},
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return bad("bundle", err)
	}
	return signature{format: "cosign", bundle: b, payload: payload}, nil
}

// material is the verification material cosign keeps in a layer's
// annotations; keyless says a layer without a certificate is key-based
// (verified with the policy's key) rather than unsigned.
func material(l v1.Descriptor, keyless bool) (*protobundle.VerificationMaterial, error) {
	certs, err := pemChain(l.Annotations[annCertificate] + l.Annotations[annChain])
	if err != nil {
		return nil, err
	}
	vm := &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{Certificates: certs}},
	}
	if len(certs) == 0 {
		if !keyless {
			return nil, errors.New("no certificate")
		}
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	}
	if raw := l.Annotations[annBundle]; raw != "" {
		var rb rekorBundle
		if err := json.Unmarshal([]byte(raw), &rb); err != nil {
			return nil, fmt.Errorf("the Rekor bundle: %w", err)
		}
		body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
		if err != nil {
			return nil, fmt.Errorf("the Rekor entry: %w", err)
		}
		logID, err := hex.DecodeString(rb.Payload.LogID)
		if err != nil {
			return nil, fmt.Errorf("the Rekor log ID: %w", err)
		}
		var kind struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
		}
		_ = json.Unmarshal(body, &kind)
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{{
			LogIndex:          rb.Payload.LogIndex,
			LogId:             &protocommon.LogId{KeyId: logID},
			KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
			IntegratedTime:    rb.Payload.IntegratedTime,
			InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
			CanonicalizedBody: body,
		}}
	}
	if raw := l.Annotations[annTimestamp]; raw != "" {
		var ts struct {
			SignedRFC3161Timestamp []byte `json:"SignedRFC3161Timestamp"`
		}
		if err := json.Unmarshal([]byte(raw), &ts); err == nil && len(ts.SignedRFC3161Timestamp) > 0 {
			vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
				Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts.SignedRFC3161Timestamp}},
			}
		}
	}
	return vm, nil
}

// VerifyAttestation checks an attestation against policy: the signature,
// the identity, the log (or a signed timestamp), and that its in-toto
// subject is the image's digest. The attestation is either a bare DSSE
// envelope (a layer of cosign's .att tag, its certificate and Rekor bundle
// in annotations) or a Sigstore bundle holding a DSSE envelope (a referrer,
// as cosign 3 attaches attestations).
func (v *Verifier) VerifyAttestation(repo name.Repository, image v1.Hash, l v1.Descriptor, envelope []byte, policy Policy) (Result, error) {
	ref := repo.Digest(image.String())
	ck, err := policy.prepare()
	if err != nil {
		return Result{}, err
	}
	if isBundle(envelope) {
		return v.verifyAttestationBundle(ref, image, envelope, ck)
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		return Result{}, &Error{Ref: ref, Reason: ErrBadSignatureDB, Detail: []error{err}}
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return Result{}, &Error{Ref: ref, Reason: ErrBadSignatureDB, Detail: []error{err}}
	}
	pe := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for _, sg := range env.Signatures {
		raw, err := base64.StdEncoding.DecodeString(sg.Sig)
		if err != nil {
			return Result{}, &Error{Ref: ref, Reason: ErrBadSignatureDB, Detail: []error{err}}
		}
		pe.Signatures = append(pe.Signatures, &protodsse.Signature{Sig: raw, Keyid: sg.KeyID})
	}
	vm, err := material(l, ck.key != nil)
	if err != nil {
		return Result{}, &Error{Ref: ref, Reason: ErrUnsigned, Detail: []error{err}}
	}
	b, err := bundle.NewBundle(&protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: vm,
		Content:              &protobundle.Bundle_DsseEnvelope{DsseEnvelope: pe},
	})
	if err != nil {
		return Result{}, &Error{Ref: ref, Reason: ErrBadSignatureDB, Detail: []error{err}}
	}
	r, err := v.check(signature{format: "attestation", bundle: b}, image, ck)
	if err != nil {
		return Result{}, &Error{Ref: ref, Reason: reason([]error{err}), Detail: []error{err}}
	}
	return r, nil
}

// isBundle reports whether an attestation layer is a Sigstore bundle
// rather than a bare DSSE envelope: bundles name their media type.
func isBundle(b []byte) bool {
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	return json.Unmarshal(b, &probe) == nil && strings.HasPrefix(probe.MediaType, bundleArtifactType)
}

// verifyAttestationBundle checks a Sigstore bundle whose content is a DSSE
// envelope (any bundle version sigstore-go reads: v0.1 to v0.3, Rekor v1
// or v2 entries, signed timestamps).
func (v *Verifier) verifyAttestationBundle(ref name.Digest, image v1.Hash, raw []byte, ck check) (Result, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return Result{}, &Error{Ref: ref, Reason: ErrBadSignatureDB, Detail: []error{fmt.Errorf("bundle: %w", err)}}
	}
	if b.GetDsseEnvelope() == nil {
		return Result{}, &Error{Ref: ref, Reason: ErrBadSignatureDB, Detail: []error{errors.New("the bundle holds no DSSE envelope")}}
	}
	r, err := v.check(signature{format: "bundle", bundle: &b}, image, ck)
	if err != nil {
		return Result{}, &Error{Ref: ref, Reason: reason([]error{err}), Detail: []error{err}}
	}
	return r, nil
}

func pemChain(s string) ([]*protocommon.X509Certificate, error) {
	var out []*protocommon.X509Certificate
	rest := []byte(s)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q", block.Type)
		}
		out = append(out, &protocommon.X509Certificate{RawBytes: block.Bytes})
	}
	return out, nil
}

// simpleSigning is cosign's signed payload, naming the image's digest.
type simpleSigning struct {
	Critical struct {
		Image struct {
			Digest string `json:"docker-manifest-digest"`
		} `json:"image"`
	} `json:"critical"`
}

// check verifies one signature for digest and identity.
func (v *Verifier) check(s signature, digest v1.Hash, ck check) (Result, error) {
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if s.bundle.HasInclusionPromise() || s.bundle.HasInclusionProof() {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	trusted := v.Trusted
	identity := verify.WithCertificateIdentity(ck.id)
	if ck.key != nil {
		vc, err := s.bundle.VerificationContent()
		if err != nil || vc.Certificate() != nil {
			return Result{}, fmt.Errorf("%w: signed with a certificate, not the key", ErrWrongIdentity)
		}
		keys := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(ck.key, time.Time{}, time.Time{}), nil
		})
		trusted, identity = root.TrustedMaterialCollection{v.Trusted, keys}, verify.WithKey()
	}
	verifier, err := verify.NewVerifier(trusted, opts...)
	if err != nil {
		return Result{}, err
	}
	var artifact verify.ArtifactPolicyOption
	if s.payload != nil {
		var ss simpleSigning
		if err := json.Unmarshal(s.payload, &ss); err != nil {
			return Result{}, fmt.Errorf("%w: payload: %v", ErrBadSignatureDB, err)
		}
		if ss.Critical.Image.Digest != digest.String() {
			return Result{}, fmt.Errorf("%w: it names %s", ErrOtherImage, ss.Critical.Image.Digest)
		}
		artifact = verify.WithArtifact(bytes.NewReader(s.payload))
	} else {
		raw, err := hex.DecodeString(digest.Hex)
		if err != nil {
			return Result{}, err
		}
		artifact = verify.WithArtifactDigest(digest.Algorithm, raw)
	}
	res, err := verifier.Verify(s.bundle, verify.NewPolicy(artifact, identity))
	if err != nil {
		if ck.key != nil {
			return Result{}, classify(err)
		}
		if !v.chainsToTrustedCA(s.bundle) {
			return Result{}, fmt.Errorf("%w: %v", ErrUntrusted, err)
		}
		if serr := selfSigned(s); serr != nil {
			return Result{}, fmt.Errorf("%w: %v", ErrBadSignature, serr)
		}
		return Result{}, classify(err)
	}
	r := Result{Format: s.format}
	if ck.key != nil {
		r.Identity = "key"
	}
	if res.Signature != nil && res.Signature.Certificate != nil {
		r.Identity = res.Signature.Certificate.SubjectAlternativeName
		r.Issuer = res.Signature.Certificate.Issuer
	}
	return r, nil
}

// selfSigned checks a certificate-signed signature against its own
// certificate's key alone: content changed after signing fails here, though
// sigstore-go reports the log check that notices it first (the log holds
// the signed content's digest, or an inclusion proof over it), which would
// read "not in the transparency log". nil when the signature is sound or
// has no certificate to check against.
func selfSigned(s signature) error {
	vc, err := s.bundle.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return nil
	}
	sc, err := s.bundle.SignatureContent()
	if err != nil {
		return nil
	}
	// The certificate's own key is all that is used: no trusted material.
	var none root.BaseTrustedMaterial
	switch {
	case sc.EnvelopeContent() != nil:
		return verify.VerifySignature(sc, vc, &none)
	case s.payload != nil:
		return verify.VerifySignatureWithArtifacts(sc, vc, &none, []io.Reader{bytes.NewReader(s.payload)})
	case sc.MessageSignatureContent() != nil:
		// Over the digest the bundle says it signs: one of another image is
		// sound, and told apart by the verifier.
		ms := sc.MessageSignatureContent()
		return verify.VerifySignatureWithArtifactDigests(sc, vc, &none, []verify.ArtifactDigest{{Algorithm: ms.DigestAlgorithm(), Digest: ms.Digest()}})
	}
	return nil
}

// chainsToTrustedCA reports whether the signing certificate was issued by
// a trusted Fulcio (at any time in its validity), to tell an untrusted root
// from the failures that follow from it.
func (v *Verifier) chainsToTrustedCA(b *bundle.Bundle) bool {
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return true // key-based or malformed: let the verifier's error speak
	}
	cert := vc.Certificate()
	for _, ca := range v.Trusted.FulcioCertificateAuthorities() {
		if _, err := ca.Verify(cert, cert.NotBefore.Add(time.Second)); err == nil {
			return true
		}
	}
	return false
}

var (
	sanMismatch    = regexp.MustCompile(`(?i)subject alternative name|SAN`)
	issuerMismatch = regexp.MustCompile(`(?i)issuer`)
)

// classify names sigstore-go's failure as one of the reasons.
func classify(err error) error {
	msg := err.Error()
	var reason error
	switch {
	case strings.Contains(msg, "transparency log certificate does not match"),
		strings.Contains(msg, "public key does not match"):
		reason = ErrWrongIdentity // the log records another signer's key
	case strings.Contains(msg, "payload hash") && strings.Contains(msg, "does not match"):
		reason = ErrBadSignature // the content changed after it was signed and logged
	case strings.Contains(msg, "subject") && strings.Contains(msg, "digest"),
		strings.Contains(msg, "artifact digest does not match any digest in statement"),
		strings.Contains(msg, "provided artifact digests do not match"):
		reason = ErrOtherImage
	case strings.Contains(msg, "certificate identity") || strings.Contains(msg, "no matching CertificateIdentity"):
		reason = ErrWrongIdentity
		if issuerMismatch.MatchString(msg) && !sanMismatch.MatchString(msg) {
			reason = ErrWrongIssuer
		}
	case strings.Contains(msg, "transparency log") || strings.Contains(msg, "tlog") || strings.Contains(msg, "inclusion"):
		reason = ErrNotInLog
	case strings.Contains(msg, "certificate") && (strings.Contains(msg, "chain") || strings.Contains(msg, "x509") || strings.Contains(msg, "authority")):
		reason = ErrUntrusted
	case strings.Contains(msg, "timestamp"):
		reason = ErrNotInLog
	default:
		reason = ErrBadSignature
	}
	return fmt.Errorf("%w: %v", reason, err)
}

// reason is the most telling reason among several signatures' failures.
func reason(errs []error) error {
	for _, r := range []error{ErrWrongIdentity, ErrWrongIssuer, ErrOtherImage, ErrBadSignature, ErrNotInLog, ErrUntrusted, ErrBadSignatureDB} {
		for _, e := range errs {
			if errors.Is(e, r) {
				return r
			}
		}
	}
	return ErrBadSignature
}
