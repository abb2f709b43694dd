package registrytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Media types of a Sigstore bundle attached as cosign 3 does with
// --new-bundle-format (cosign's specs/BUNDLE_SPEC.md): the referrer
// manifest's artifactType and its one layer are the bundle's media type, its
// config is the OCI empty descriptor.
const (
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	emptyMediaType  = "application/vnd.oci.empty.v1+json"
)

// AttachSignedSBOMBundle attaches an SPDX SBOM to image d as cosign 3 does
// (cosign attest --new-bundle-format): a v0.3 Sigstore bundle holding a DSSE
// envelope (an in-toto statement about d) signed by the virtual Sigstore,
// with the signing certificate, a Rekor v2 entry (an inclusion proof and a
// signed checkpoint, no signed entry timestamp nor integrated time) and an
// RFC 3161 signed timestamp, as a referrer of d. No .att tag is written.
func (srv *Server) AttachSignedSBOMBundle(tb testing.TB, s *Sigstore, repo string, d v1.Hash, spdx []byte, identity, issuer string, opts AttestOptions) {
	tb.Helper()
	subject := d
	if opts.Subject != (v1.Hash{}) {
		subject = opts.Subject
	}
	st := srv.statement(tb, repo, subject, spdx)
	// The virtual Sigstore's certificates are valid from now on; sign a
	// little later, as its own Attest does.
	e, err := s.VS.AttestAtTimeHashedRekordV2(identity, issuer, st, time.Now().Add(5*time.Minute))
	if err != nil {
		tb.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	payload := st
	if opts.Tamper {
		payload = bytes.Replace(st, []byte(`"name":"`), []byte(`"name":"tampered-`), 1)
	}
	pe := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for _, sg := range env.Signatures {
		raw, err := base64.StdEncoding.DecodeString(sg.Sig)
		if err != nil {
			tb.Fatal(err)
		}
		pe.Signatures = append(pe.Signatures, &protodsse.Signature{Sig: raw, Keyid: sg.KeyID})
	}
	entries, err := e.TlogEntries()
	if err != nil || len(entries) == 0 {
		tb.Fatalf("registrytest: no log entry: %v", err)
	}
	tle := entries[0].TransparencyLogEntry()
	tle.IntegratedTime = 0 // Rekor v2 records no time: the signed timestamp vouches for it
	tle.InclusionPromise = nil
	tss, err := e.Timestamps()
	if err != nil || len(tss) == 0 {
		tb.Fatalf("registrytest: no timestamp: %v", err)
	}
	pb := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
			TimestampVerificationData: &protobundle.TimestampVerificationData{
				Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: tss[0]}},
			},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: pe},
	}
	body, err := protojson.Marshal(pb)
	if err != nil {
		tb.Fatal(err)
	}
	srv.writeBundleReferrer(tb, repo, d, body, map[string]string{
		"dev.sigstore.bundle.content":       "dsse-envelope",
		"dev.sigstore.bundle.predicateType": "https://spdx.dev/Document",
	})
}

// writeBundleReferrer pushes a bundle as cosign 3 lays it out: a manifest
// with artifactType set to the bundle's media type, the empty config, the
// bundle as its one layer (with annotations) and d as its subject.
func (srv *Server) writeBundleReferrer(tb testing.TB, repo string, d v1.Hash, bundle []byte, ann map[string]string) {
	tb.Helper()
	r, err := name.NewRepository(srv.Ref(repo, ""))
	if err != nil {
		tb.Fatal(err)
	}
	config, layer := static.NewLayer([]byte("{}"), emptyMediaType), static.NewLayer(bundle, BundleMediaType)
	desc := func(l v1.Layer, mt string) map[string]any {
		dg, _ := l.Digest()
		sz, _ := l.Size()
		if err := remote.WriteLayer(r, l, srv.pushOptions()...); err != nil {
			tb.Fatalf("registrytest: push blob: %v", err)
		}
		return map[string]any{"mediaType": mt, "digest": dg.String(), "size": sz}
	}
	ld := desc(layer, BundleMediaType)
	ld["annotations"] = ann
	subject := srv.manifest(tb, repo, d)
	var sm struct {
		MediaType string `json:"mediaType"`
	}
	_ = json.Unmarshal(subject, &sm)
	if sm.MediaType == "" {
		sm.MediaType = string(types.OCIManifestSchema1)
	}
	m, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIManifestSchema1,
		"artifactType":  BundleMediaType,
		"config":        desc(config, emptyMediaType),
		"layers":        []any{ld},
		"subject":       map[string]any{"mediaType": sm.MediaType, "digest": d.String(), "size": len(subject)},
		"annotations":   map[string]string{"org.opencontainers.image.created": time.Now().UTC().Format(time.RFC3339)},
	})
	if err != nil {
		tb.Fatal(err)
	}
	md, _, err := v1.SHA256(bytes.NewReader(m))
	if err != nil {
		tb.Fatal(err)
	}
	ref, err := name.ParseReference(srv.Ref(repo, "@"+md.String()))
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Put(ref, rawManifest{body: m, mt: types.OCIManifestSchema1}, srv.pushOptions()...); err != nil {
		tb.Fatalf("registrytest: attach bundle: %v", err)
	}
}

// rawManifest is a manifest pushed byte for byte (go-containerregistry's
// images cannot carry an artifactType).
type rawManifest struct {
	body []byte
	mt   types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// TrustedRootJSONTwoLogs is TrustedRootJSON with a second Rekor log that
// starts at the same time as the first, as the public-good root has had:
// sigstore-go re-serialises such a root with the two logs in either order.
func (s *Sigstore) TrustedRootJSONTwoLogs(tb testing.TB) []byte {
	tb.Helper()
	var tr map[string]any
	if err := json.Unmarshal(s.TrustedRootJSON(tb), &tr); err != nil {
		tb.Fatal(err)
	}
	tlogs, _ := tr["tlogs"].([]any)
	if len(tlogs) != 1 {
		tb.Fatalf("registrytest: %d logs in the virtual root", len(tlogs))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	id := sha256.Sum256(der)
	var second map[string]any
	b, _ := json.Marshal(tlogs[0])
	_ = json.Unmarshal(b, &second) // a deep copy: same start date, base URL and algorithms
	pk, _ := second["publicKey"].(map[string]any)
	pk["rawBytes"] = base64.StdEncoding.EncodeToString(der)
	second["logId"] = map[string]any{"keyId": base64.StdEncoding.EncodeToString(id[:])}
	second["baseUrl"] = "https://rekor2.localhost"
	tr["tlogs"] = append(tlogs, second)
	out, err := json.MarshalIndent(tr, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
