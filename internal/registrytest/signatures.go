package registrytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
)

// Sigstore is a virtual Sigstore (sigstore-go's test CA, log and timestamp
// authority) that signs test images: it exists only in the test, so no
// signature check ever needs the network.
type Sigstore struct {
	VS *ca.VirtualSigstore
}

// NewSigstore starts a virtual Sigstore.
func NewSigstore(tb testing.TB) *Sigstore {
	tb.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		tb.Fatal(err)
	}
	return &Sigstore{VS: vs}
}

// TrustedRootJSON is the virtual Sigstore's trusted_root.json, as
// --trusted-root reads it.
func (s *Sigstore) TrustedRootJSON(tb testing.TB) []byte {
	tb.Helper()
	// The virtual Sigstore keeps log IDs as hex text; a trusted_root.json
	// holds the binary IDs the log entries name.
	binaryIDs := func(logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
		out := map[string]*root.TransparencyLog{}
		for k, l := range logs {
			c := *l
			if id, err := hex.DecodeString(string(l.ID)); err == nil {
				c.ID, k = id, hex.EncodeToString(id)
			}
			out[k] = &c
		}
		return out
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.VS.FulcioCertificateAuthorities(), binaryIDs(s.VS.CTLogs()), s.VS.TimestampingAuthorities(), binaryIDs(s.VS.RekorLogs()))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// logEntry is the Rekor entry of a signature with its inclusion promise
// (the signed entry timestamp), as a real log returns it.
func (s *Sigstore) logEntry(tb testing.TB, e *ca.TestEntity) *protorekor.TransparencyLogEntry {
	entries, err := e.TlogEntries()
	if err != nil || len(entries) == 0 {
		tb.Fatalf("registrytest: no log entry: %v", err)
	}
	tle := entries[0].TransparencyLogEntry()
	logID := hex.EncodeToString(tle.GetLogId().GetKeyId())
	set, err := s.VS.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
		IntegratedTime: tle.GetIntegratedTime(), LogIndex: tle.GetLogIndex(), LogID: logID})
	if err != nil {
		tb.Fatal(err)
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	_ = json.Unmarshal(tle.GetCanonicalizedBody(), &kind)
	return &protorekor.TransparencyLogEntry{
		LogIndex: tle.GetLogIndex(), LogId: tle.GetLogId(), IntegratedTime: tle.GetIntegratedTime(),
		KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		CanonicalizedBody: tle.GetCanonicalizedBody(),
	}
}

// SignOptions vary a signature for negative tests.
type SignOptions struct {
	// OverDigest signs this digest instead of the image's (cosign format).
	OverDigest v1.Hash
	// NoLog leaves out the transparency-log entry (and the timestamp).
	NoLog bool
	// Tamper changes the payload after it was signed and logged (it still
	// names the image's digest).
	Tamper bool
}

func (srv *Server) manifest(tb testing.TB, repo string, d v1.Hash) []byte {
	ref, err := name.NewDigest(srv.Ref(repo, "@"+d.String()))
	if err != nil {
		tb.Fatal(err)
	}
	desc, err := remote.Get(ref, srv.pushOptions()...)
	if err != nil {
		tb.Fatalf("registrytest: %v", err)
	}
	return desc.Manifest
}

// SignCosign signs image d of repo as cosign does: a simple-signing payload
// layer under the tag "sha256-<hex>.sig", with the certificate, its chain
// and the Rekor bundle in annotations.
func (srv *Server) SignCosign(tb testing.TB, s *Sigstore, repo string, d v1.Hash, identity, issuer string, opts SignOptions) {
	tb.Helper()
	signed := d
	if opts.OverDigest != (v1.Hash{}) {
		signed = opts.OverDigest
	}
	payload := srv.simpleSigning(repo, signed)
	e, err := s.VS.Sign(identity, issuer, payload)
	if err != nil {
		tb.Fatal(err)
	}
	sc, _ := e.SignatureContent()
	ann := s.certAnnotations(tb, e)
	ann["dev.cosignproject.cosign/signature"] = base64.StdEncoding.EncodeToString(sc.MessageSignatureContent().Signature())
	if !opts.NoLog {
		ann["dev.sigstore.cosign/bundle"] = entryBundle(s.logEntry(tb, e))
	}
	if opts.Tamper {
		payload = bytes.Replace(payload, []byte(`"optional":null`), []byte(`"optional":{"tampered":"yes"}`), 1)
	}
	srv.writeSignatureImage(tb, repo, d, "sig", payload, "application/vnd.dev.cosign.simplesigning.v1+json", ann)
}

// SignBundle signs image d of repo with a Sigstore bundle (a message
// signature over the manifest) attached through the referrers API.
func (srv *Server) SignBundle(tb testing.TB, s *Sigstore, repo string, d v1.Hash, identity, issuer string) {
	tb.Helper()
	e, err := s.VS.Sign(identity, issuer, srv.manifest(tb, repo, d))
	if err != nil {
		tb.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	ms := sc.MessageSignatureContent()
	fulcio := s.VS.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	certs := []*protocommon.X509Certificate{{RawBytes: vc.Certificate().Raw}}
	for _, c := range append(fulcio.Intermediates, fulcio.Root) {
		certs = append(certs, &protocommon.X509Certificate{RawBytes: c.Raw})
	}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{Certificates: certs}},
			TlogEntries: []*protorekor.TransparencyLogEntry{s.logEntry(tb, e)},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: ms.Digest()},
			Signature:     ms.Signature(),
		}},
	}
	body, err := protojson.Marshal(pb)
	if err != nil {
		tb.Fatal(err)
	}
	const mt = "application/vnd.dev.sigstore.bundle.v0.3+json"
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: static.NewLayer(body, mt)})
	if err != nil {
		tb.Fatal(err)
	}
	srv.writeReferrer(tb, repo, d, mutate.ConfigMediaType(img, mt))
}

// AttestOptions vary a signed attestation for negative tests.
type AttestOptions struct {
	// Subject names another image in the statement.
	Subject v1.Hash
	// Tamper changes the payload after it was signed.
	Tamper bool
}

// AttachSignedSBOM attaches an SPDX SBOM to image d as cosign attest does:
// a DSSE envelope (an in-toto statement about d) signed by the virtual
// Sigstore, at tag "sha256-<hex>.att", with the certificate, its chain and
// the Rekor bundle in annotations.
func (srv *Server) AttachSignedSBOM(tb testing.TB, s *Sigstore, repo string, d v1.Hash, spdx []byte, identity, issuer string, opts AttestOptions) {
	tb.Helper()
	subject := d
	if opts.Subject != (v1.Hash{}) {
		subject = opts.Subject
	}
	st := srv.statement(tb, repo, subject, spdx)
	e, err := s.VS.Attest(identity, issuer, st)
	if err != nil {
		tb.Fatal(err)
	}
	sc, _ := e.SignatureContent()
	env := *sc.EnvelopeContent().RawEnvelope()
	if opts.Tamper {
		tampered := bytes.Replace(st, []byte(`"name":"`), []byte(`"name":"tampered-`), 1)
		env.Payload = base64.StdEncoding.EncodeToString(tampered)
	}
	body, err := json.Marshal(env)
	if err != nil {
		tb.Fatal(err)
	}
	ann := s.certAnnotations(tb, e)
	ann["predicateType"] = "https://spdx.dev/Document"
	ann["dev.sigstore.cosign/bundle"] = entryBundle(s.logEntry(tb, e))
	srv.writeSignatureImage(tb, repo, d, "att", body, "application/vnd.dsse.envelope.v1+json", ann)
}

// SignCosignKey signs image d of repo as `cosign sign --key` does: the
// simple-signing payload signed with key, logged in the virtual Rekor, no
// certificate.
func (srv *Server) SignCosignKey(tb testing.TB, s *Sigstore, repo string, d v1.Hash, key *ecdsa.PrivateKey) {
	tb.Helper()
	payload := srv.simpleSigning(repo, d)
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": map[string]any{
		"data":      map[string]any{"hash": map[string]string{"algorithm": "sha256", "value": hex.EncodeToString(sum[:])}},
		"signature": map[string]any{"content": base64.StdEncoding.EncodeToString(sig), "publicKey": map[string]string{"content": base64.StdEncoding.EncodeToString(pub)}},
	}})
	logID, err := s.VS.RekorLogID()
	if err != nil {
		tb.Fatal(err)
	}
	integrated := time.Now().Unix()
	set, err := s.VS.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: integrated, LogIndex: 0, LogID: logID})
	if err != nil {
		tb.Fatal(err)
	}
	srv.writeSignatureImage(tb, repo, d, "sig", payload, "application/vnd.dev.cosign.simplesigning.v1+json", map[string]string{
		"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig),
		"dev.sigstore.cosign/bundle":         rekorBundle(body, integrated, 0, logID, set),
	})
}

// certAnnotations are cosign's certificate annotations for a signature by
// the virtual Sigstore: the leaf, and the Fulcio chain above it.
func (s *Sigstore) certAnnotations(tb testing.TB, e *ca.TestEntity) map[string]string {
	vc, err := e.VerificationContent()
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := cryptoutils.MarshalCertificateToPEM(vc.Certificate())
	if err != nil {
		tb.Fatal(err)
	}
	fulcio := s.VS.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	var chain []byte
	for _, c := range append(fulcio.Intermediates, fulcio.Root) {
		p, _ := cryptoutils.MarshalCertificateToPEM(c)
		chain = append(chain, p...)
	}
	return map[string]string{"dev.sigstore.cosign/certificate": string(leaf), "dev.sigstore.cosign/chain": string(chain)}
}

// rekorBundle is cosign's "dev.sigstore.cosign/bundle" annotation for a
// log entry: its body, time, index and log ID, and the signed entry timestamp.
func rekorBundle(body []byte, integratedTime, logIndex int64, logID string, set []byte) string {
	b, _ := json.Marshal(map[string]any{"SignedEntryTimestamp": set,
		"Payload": map[string]any{"body": base64.StdEncoding.EncodeToString(body), "integratedTime": integratedTime, "logIndex": logIndex, "logID": logID}})
	return string(b)
}

func entryBundle(tle *protorekor.TransparencyLogEntry) string {
	return rekorBundle(tle.GetCanonicalizedBody(), tle.GetIntegratedTime(), tle.GetLogIndex(), hex.EncodeToString(tle.GetLogId().GetKeyId()),
		tle.GetInclusionPromise().GetSignedEntryTimestamp())
}

// writeSignatureImage pushes one layer with annotations as cosign's tag for
// d ("sha256-<hex>.SUFFIX").
func (srv *Server) writeSignatureImage(tb testing.TB, repo string, d v1.Hash, suffix string, layer []byte, mediaType types.MediaType, ann map[string]string) {
	tb.Helper()
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer: static.NewLayer(layer, mediaType), Annotations: ann,
	})
	if err != nil {
		tb.Fatal(err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	tag, err := name.NewTag(srv.Ref(repo, fmt.Sprintf("sha256-%s.%s", d.Hex, suffix)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.store(tag, img); err != nil {
		tb.Fatalf("registrytest: write %s: %v", tag, err)
	}
}

// simpleSigning is cosign's signed payload for image d of repo.
func (srv *Server) simpleSigning(repo string, d v1.Hash) []byte {
	payload, _ := json.Marshal(map[string]any{
		"critical": map[string]any{"identity": map[string]string{"docker-reference": srv.Ref(repo, "")},
			"image": map[string]string{"docker-manifest-digest": d.String()}, "type": "cosign container image signature"},
		"optional": nil,
	})
	return payload
}
