package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The token cache is written by hand: no library persists registry tokens
// between processes. Tokens are keyed by registry, scope and a hash of the
// credentials, so changed credentials never reuse an old token.

type cachedToken struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

type cachedChallenge struct {
	Scheme     string            `json:"scheme"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Insecure   bool              `json:"insecure"`
}

// tokenKey names a cached token.
func tokenKey(host, scope string, creds Credentials) string {
	a := creds.Auth
	return cache.Key("v1", host, scope, a.Username, a.Password, a.Auth, a.IdentityToken, a.RegistryToken)
}

func loadToken(c *cache.Cache, key string, now time.Time) (cachedToken, bool) {
	var t cachedToken
	if !c.GetJSON("tokens", key, &t) || t.Token == "" || !now.Before(t.Expires) {
		return cachedToken{}, false
	}
	return t, true
}

func loadChallenge(c *cache.Cache, host string) (*transport.Challenge, bool) {
	var ch cachedChallenge
	if !c.GetJSON("challenges", cache.Key(host), &ch) {
		return nil, false
	}
	return &transport.Challenge{Scheme: ch.Scheme, Parameters: ch.Parameters, Insecure: ch.Insecure}, true
}

func saveChallenge(c *cache.Cache, host string, ch *transport.Challenge) error {
	return c.PutJSON("challenges", cache.Key(host), cachedChallenge{Scheme: ch.Scheme, Parameters: ch.Parameters, Insecure: ch.Insecure})
}

func isBearer(ch *transport.Challenge) bool {
	return ch != nil && strings.EqualFold(ch.Scheme, "bearer")
}

// grant is what a token service handed out.
type grant struct {
	token    string
	lifetime time.Duration // as granted (the Docker token spec's 60 s when unsaid)
}

// exchange trades creds for a token with scopes at the registry's token
// service (go-containerregistry's transport.Exchange: GET with Basic auth, or
// OAuth2 POST for identity tokens), classifying failures for users. It is
// the one token exchange: the client's transports and `auth` both use it.
func (c *Client) exchange(ctx context.Context, reg name.Registry, repo string, creds Credentials, ch *transport.Challenge, scopes []string) (grant, error) {
	if tok := creds.Auth.RegistryToken; tok != "" {
		return grant{token: tok}, nil
	}
	auth := authn.Anonymous
	if !creds.Anonymous() {
		auth = authn.FromConfig(creds.Auth)
	}
	host := reg.RegistryStr()
	tok, err := transport.Exchange(ctx, reg, auth, c.base, scopes, ch)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
			e := &Error{Kind: ErrDenied, Host: host, Repo: repo, Source: creds.Source, Username: creds.Auth.Username,
				Message: "the token service rejected the credentials", LookupErr: creds.LookupErr}
			if creds.Anonymous() {
				e.Kind, e.Message = ErrUnauthorized, "the token service refused anonymous access"
			}
			return grant{}, e
		}
		if strings.Contains(err.Error(), "private or link-local") {
			return grant{}, &Error{Kind: ErrUnreachable, Host: host, Err: fmt.Errorf("%w (the registry's token realm is on a private address; go-containerregistry refuses that unless the realm is on the registry's own host:port)", redactErr(err))}
		}
		return grant{}, &Error{Kind: ErrUnreachable, Host: host, Err: fmt.Errorf("token exchange: %w", redactErr(err))}
	}
	g := grant{token: tok.Token, lifetime: time.Duration(tok.ExpiresIn) * time.Second}
	if g.token == "" {
		g.token = tok.AccessToken
	}
	if g.lifetime <= 0 {
		g.lifetime = 60 * time.Second // the Docker token spec's default
	}
	return g, nil
}
