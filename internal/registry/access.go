package registry

import (
	"context"
	"errors"
	"net/http"
	"time"

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

// CheckAccess performs a real token exchange for reg, or for ref's
// repository with pull scope followed by a fetch of ref's manifest,
// bypassing (but reporting on) the token cache. It uses the client's own
// token exchange, so it answers exactly as a pull would.
func (c *Client) CheckAccess(ctx context.Context, reg name.Registry, ref name.Reference) Access {
	a := Access{Host: reg.RegistryStr()}
	creds, err := c.opts.Credentials.Lookup(a.Host)
	if err != nil {
		a.Detail = redactErr(err).Error()
		return a
	}
	a.Source, a.Username = creds.Source, creds.Auth.Username
	t := &authTransport{c: c, creds: creds, repo: reg.Repo("")}
	var scopes []string
	if ref != nil {
		t.repo = ref.Context()
		a.Repo = t.repo.RepositoryStr()
		scopes = []string{t.scope()}
		if ct, ok := loadToken(c.opts.Cache, tokenKey(a.Host, t.scope(), creds), c.opts.Now()); ok {
			a.CachedToken, a.CachedExpires = true, ct.Expires
		}
	}
	if t.challenge, err = transport.Ping(ctx, reg, c.base); err != nil {
		a.Detail = (&Error{Kind: ErrUnreachable, Host: a.Host, Err: redactErr(err)}).Error()
		return a
	}
	if isBearer(t.challenge) || creds.Auth.RegistryToken != "" {
		g, err := c.exchange(ctx, reg, a.Repo, creds, t.challenge, scopes)
		if err != nil {
			a.Detail = accessDetail(err)
			return a
		}
		t.token, a.Lifetime = g.token, g.lifetime
		if creds.Auth.RegistryToken != "" {
			a.Lifetime = 0
		}
	}
	path := "/v2/"
	if ref != nil {
		path = "/v2/" + a.Repo + "/manifests/" + ref.Identifier()
	} else if isBearer(t.challenge) {
		return a.granted("credentials accepted", creds)
	}
	// Without a token service, only the registry itself says whether the
	// credentials let us in.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+a.Host+path, nil)
	if err != nil {
		a.Detail = err.Error()
		return a
	}
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := c.base.RoundTrip(t.authorize(req, t.token))
	if err != nil {
		a.Detail = RequestError(a.Host, err).Error()
		return a
	}
	err = c.CheckResponse(resp, t.repo)
	if err == nil {
		resp.Body.Close()
		if ref == nil {
			return a.granted("credentials accepted", creds)
		}
		return a.granted("pull granted", creds)
	}
	var re *Error
	errors.As(err, &re)
	said := ""
	if re.Message != "" {
		said = " (registry said: " + re.Message + ")"
	}
	switch {
	case re.Kind == ErrNotFound && ref != nil:
		a.OK, a.Detail = true, "pull granted, but "+ref.Identifier()+" was not found"+said
	case (re.Kind == ErrUnauthorized || re.Kind == ErrDenied) && ref != nil:
		a.Detail = "pull denied" + said
		if creds.Anonymous() {
			a.Detail += "; run `docker login " + a.Host + "` or configure a credential helper"
		}
	default:
		a.Detail = "the registry answered " + statusText(re.Status) + said
	}
	return a
}

func (a Access) granted(detail string, creds Credentials) Access {
	a.OK, a.Detail = true, detail
	if detail == "credentials accepted" && creds.Anonymous() {
		a.Detail = "anonymous access"
	}
	return a
}

// accessDetail explains a failed token exchange in `auth`'s words.
func accessDetail(err error) string {
	var re *Error
	if errors.As(err, &re) && (re.Kind == ErrDenied || re.Kind == ErrUnauthorized) {
		return "the token service rejected the credentials"
	}
	if errors.As(err, &re) && re.Err != nil {
		return re.Err.Error()
	}
	return err.Error()
}
