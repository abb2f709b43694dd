package registry

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Access reports how a pull from a registry (or one image) would be
// authorised, for `docker cghistory auth`. It never holds secrets.
type Access struct {
	Host     string
	Repo     string // empty when only the registry was checked
	Source   string // "auths", "credsStore:NAME", …; empty: anonymous
	Username string
	// CachedToken says whether the disk cache holds a valid pull token for
	// Repo with these credentials, and until when.
	CachedToken   bool
	CachedExpires time.Time
	// OK says the check passed: the credentials were accepted (registry
	// only) or the image may be pulled.
	OK bool
	// Lifetime is what the token service granted (0 without bearer auth).
	Lifetime time.Duration
	// Detail explains the outcome, with the registry's own message.
	Detail string
}

// CheckAccess performs a real token exchange for host, or for ref's
// repository with pull scope followed by a HEAD of ref, bypassing (but
// reporting on) the token cache.
func (c *Client) CheckAccess(ctx context.Context, reg name.Registry, ref name.Reference) Access {
	a := Access{Host: reg.RegistryStr()}
	creds, err := c.opts.Credentials.Lookup(a.Host)
	if err != nil {
		a.Detail = err.Error()
		return a
	}
	a.Source, a.Username = creds.Source, creds.Auth.Username
	var scopes []string
	if ref != nil {
		repo := ref.Context()
		a.Repo = repo.RepositoryStr()
		scope := repo.Scope(transport.PullScope)
		scopes = []string{scope}
		var ct cachedToken
		if c.opts.Cache.read("tokens", tokenKey(a.Host, scope, creds), &ct) && ct.Token != "" && c.opts.Now().Before(ct.Expires) {
			a.CachedToken, a.CachedExpires = true, ct.Expires
		}
	}
	ch, err := transport.Ping(ctx, reg, c.base)
	if err != nil {
		a.Detail = (&Error{Kind: ErrUnreachable, Host: a.Host, Err: redactErr(err)}).Error()
		return a
	}
	tr := &authTransport{c: c, challenge: ch, creds: creds}
	if ref != nil {
		tr.repo = ref.Context()
	}
	if isBearer(ch) && creds.Auth.RegistryToken == "" {
		auth := authn.Anonymous
		if !creds.Anonymous() {
			auth = authn.FromConfig(creds.Auth)
		}
		tok, err := transport.Exchange(ctx, reg, auth, c.base, scopes, ch)
		if err != nil {
			var terr *transport.Error
			if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
				a.Detail = "the token service rejected the credentials"
				if msg := terr.Error(); msg != "" {
					a.Detail += ": " + redactText(msg)
				}
			} else {
				a.Detail = "token exchange failed: " + redactText(err.Error())
			}
			return a
		}
		tr.token = tok.Token
		if tr.token == "" {
			tr.token = tok.AccessToken
		}
		a.Lifetime = time.Duration(tok.ExpiresIn) * time.Second
		if a.Lifetime == 0 {
			a.Lifetime = 60 * time.Second
		}
	} else if creds.Auth.RegistryToken != "" {
		tr.token = creds.Auth.RegistryToken
	}
	if ref == nil && !isBearer(ch) {
		// No token service: ask the registry itself whether it lets us in.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+a.Host+"/v2/", nil)
		if err != nil {
			a.Detail = err.Error()
			return a
		}
		resp, err := c.base.RoundTrip(tr.authorize(req, ""))
		if err != nil {
			a.Detail = (&Error{Kind: ErrUnreachable, Host: a.Host, Err: redactErr(err)}).Error()
			return a
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			a.Detail = "the registry answered " + statusText(resp.StatusCode)
			return a
		}
	}
	if ref == nil {
		a.OK = true
		a.Detail = "credentials accepted"
		if creds.Anonymous() {
			a.Detail = "anonymous access"
		}
		return a
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref.Context().Scheme()+"://"+a.Host+"/v2/"+a.Repo+"/manifests/"+ref.Identifier(), nil)
	if err != nil {
		a.Detail = err.Error()
		return a
	}
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := c.base.RoundTrip(tr.authorize(req, tr.token))
	if err != nil {
		a.Detail = (&Error{Kind: ErrUnreachable, Host: a.Host, Err: redactErr(err)}).Error()
		return a
	}
	err = c.CheckResponse(resp, a.Repo)
	if err == nil {
		resp.Body.Close()
		a.OK, a.Detail = true, "pull granted"
		return a
	}
	var re *Error
	errors.As(err, &re)
	said := ""
	if re.Message != "" {
		said = " (registry said: " + re.Message + ")"
	}
	switch re.Kind {
	case ErrNotFound:
		a.OK, a.Detail = true, "pull granted, but "+ref.Identifier()+" was not found"+said
	case ErrUnauthorized, ErrDenied:
		a.Detail = "pull denied" + said
		if creds.Anonymous() {
			a.Detail += "; run `docker login " + a.Host + "` or configure a credential helper"
		}
	default:
		a.Detail = "registry answered " + statusText(resp.StatusCode) + said
	}
	return a
}
