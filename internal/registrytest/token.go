package registrytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// signer issues and verifies the registry's JWTs, as a real token service does.
type signer struct {
	key     *ecdsa.PrivateKey
	certDER []byte
	jose    jose.Signer
	issuer  string
	service string
}

func newSigner(issuer, service string) (*signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "registrytest token signer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(der)})
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		return nil, err
	}
	return &signer{key: key, certDER: der, jose: js, issuer: issuer, service: service}, nil
}

// certPEM is the root bundle the registry trusts.
func (s *signer) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.certDER})
}

// access is one entry of a token's "access" claim.
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

type claims struct {
	jwt.Claims
	Access []access `json:"access"`
}

func (s *signer) issue(subject string, grants []access, ttl time.Duration, now time.Time) (string, error) {
	if grants == nil {
		grants = []access{}
	}
	c := claims{
		Claims: jwt.Claims{
			Issuer:    s.issuer,
			Subject:   subject,
			Audience:  jwt.Audience{s.service},
			Expiry:    jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        fmt.Sprintf("%d", now.UnixNano()),
		},
		Access: grants,
	}
	return jwt.Signed(s.jose).Claims(c).Serialize()
}

// verify checks a bearer token and returns its claims.
func (s *signer) verify(raw string) (*claims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, err
	}
	var c claims
	if err := tok.Claims(&s.key.PublicKey, &c); err != nil {
		return nil, err
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: s.issuer, AnyAudience: jwt.Audience{s.service}, Time: time.Now()}, time.Minute); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *claims) allows(repo, action string) bool {
	for _, a := range c.Access {
		if a.Type == "repository" && a.Name == repo && (slices.Contains(a.Actions, action) || slices.Contains(a.Actions, "*")) {
			return true
		}
	}
	return false
}

// tokenResponse is the Docker token service's answer.
type tokenResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
}

// serveToken implements the Docker token endpoint: GET with optional Basic
// auth, and POST with the OAuth2 password and refresh_token grants.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "UNSUPPORTED", err.Error())
		return
	}
	if svc := r.Form.Get("service"); svc != "" && svc != s.signer.service {
		writeError(w, http.StatusBadRequest, "UNSUPPORTED", "unknown service")
		return
	}
	var (
		subject string
		refresh string
	)
	switch r.Method {
	case http.MethodGet:
		if user, pass, ok := r.BasicAuth(); ok {
			if !s.checkPassword(user, pass) {
				writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid username or password")
				return
			}
			subject = user
			if r.Form.Get("offline_token") == "true" {
				refresh = s.refreshTokenFor(user)
			}
		}
	case http.MethodPost:
		switch r.Form.Get("grant_type") {
		case "password":
			user, pass := r.Form.Get("username"), r.Form.Get("password")
			if !s.checkPassword(user, pass) {
				writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid username or password")
				return
			}
			subject = user
			if r.Form.Get("access_type") == "offline" {
				refresh = s.refreshTokenFor(user)
			}
		case "refresh_token":
			user, ok := s.userForRefreshToken(r.Form.Get("refresh_token"))
			if !ok {
				writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid refresh token")
				return
			}
			subject = user
		default:
			writeError(w, http.StatusBadRequest, "UNSUPPORTED", "unsupported grant_type")
			return
		}
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}

	var grants []access
	for _, scope := range r.Form["scope"] {
		for sc := range strings.FieldsSeq(scope) {
			if g, ok := s.grant(subject, sc); ok {
				grants = append(grants, g)
			}
		}
	}
	now := time.Now()
	tok, err := s.signer.issue(subject, grants, s.tokenTTL, now)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	s.mu.Lock()
	s.issued = append(s.issued, IssuedToken{Subject: subject, Scopes: r.Form["scope"]})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(tokenResponse{
		Token: tok, AccessToken: tok, RefreshToken: refresh,
		ExpiresIn: int(s.tokenTTL / time.Second), IssuedAt: now.UTC().Format(time.RFC3339),
	})
}

// grant decides which of the requested actions subject may perform.
func (s *Server) grant(subject, scope string) (access, bool) {
	parts := strings.Split(scope, ":")
	if len(parts) != 3 || parts[0] != "repository" {
		return access{}, false
	}
	repo, wanted := parts[1], strings.Split(parts[2], ",")
	s.mu.Lock()
	defer s.mu.Unlock()
	var allowed []string
	switch {
	case subject == AdminUser:
		allowed = []string{"pull", "push", "delete", "*"}
	case subject != "" && !s.denied[subject+"\x00"+repo]:
		allowed = []string{"pull"}
	case subject == "" && s.isPublic(repo):
		allowed = []string{"pull"}
	}
	var got []string
	for _, a := range wanted {
		if slices.Contains(allowed, a) {
			got = append(got, a)
		}
	}
	if len(got) == 0 {
		return access{}, false
	}
	return access{Type: "repository", Name: repo, Actions: got}, true
}

func (s *Server) isPublic(repo string) bool {
	if s.allPublic {
		return true
	}
	for _, p := range s.public {
		if repo == p || strings.HasPrefix(repo, p+"/") {
			return true
		}
	}
	return false
}

func (s *Server) checkPassword(user, pass string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	want, ok := s.users[user]
	return ok && want == pass
}

func (s *Server) refreshTokenFor(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, u := range s.refreshTokens {
		if u == user {
			return tok
		}
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	tok := "rt-" + base64.RawURLEncoding.EncodeToString(b)
	s.refreshTokens[tok] = user
	return tok
}

func (s *Server) userForRefreshToken(tok string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.refreshTokens[tok]
	return u, ok
}

// bearerClaims returns the verified claims of the request's bearer token.
func (s *Server) bearerClaims(r *http.Request) (*claims, error) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil, errors.New("no bearer token")
	}
	return s.signer.verify(raw)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": msg}},
	})
}

// RefreshToken returns an OAuth2 refresh token for user, as `docker login`
// stores in config.json's "identitytoken".
func (s *Server) RefreshToken(user string) string { return s.refreshTokenFor(user) }
