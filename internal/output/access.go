package output

import (
	"encoding/json"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker/cli/cli/command/formatter"
)

// AccessTableFormat is the default layout of `docker cghistory auth`.
const AccessTableFormat = "table {{.Target}}\t{{.Source}}\t{{.Username}}\t{{.Access}}\t{{.TokenLifetime}}\t{{.CachedToken}}\t{{.Detail}}"

// WriteAccess renders credential diagnostics.
func WriteAccess(ctx formatter.Context, now time.Time, rows []registry.Access) error {
	header := &accessRow{HeaderContext: formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"Target": "TARGET", "Registry": "REGISTRY", "Repository": "REPOSITORY", "Source": "SOURCE",
		"Username": "USERNAME", "Access": "ACCESS", "TokenLifetime": "TOKEN LIFETIME",
		"CachedToken": "CACHED TOKEN", "Detail": "DETAIL",
	}}}
	return ctx.Write(header, func(format func(formatter.SubContext) error) error {
		for _, a := range rows {
			if err := format(&accessRow{a: a, now: now}); err != nil {
				return err
			}
		}
		return nil
	})
}

type accessRow struct {
	formatter.HeaderContext
	a   registry.Access
	now time.Time
}

// Target is the registry, or registry/repository for an image.
func (r *accessRow) Target() string {
	if r.a.Repo == "" {
		return Escape(r.a.Host)
	}
	return Escape(r.a.Host + "/" + r.a.Repo)
}

// Registry is the registry host.
func (r *accessRow) Registry() string { return Escape(r.a.Host) }

// Repository is the repository checked, if any.
func (r *accessRow) Repository() string { return Escape(r.a.Repo) }

// Source is where docker would take credentials from.
func (r *accessRow) Source() string { return Escape(r.source()) }

func (r *accessRow) source() string {
	if r.a.Source == "" {
		return "anonymous"
	}
	return r.a.Source
}

// Username is the user the credentials name (never the secret).
func (r *accessRow) Username() string { return Escape(r.a.Username) }

// Access is "ok" or "denied".
func (r *accessRow) Access() string {
	if r.a.OK {
		return "ok"
	}
	return "denied"
}

// TokenLifetime is what the token service granted.
func (r *accessRow) TokenLifetime() string {
	if r.a.Lifetime == 0 {
		return ""
	}
	return r.a.Lifetime.String()
}

// CachedToken says whether a valid token is cached, and for how long.
func (r *accessRow) CachedToken() string {
	switch {
	case r.a.Repo == "":
		return ""
	case r.a.CachedToken:
		return "valid for " + r.a.CachedExpires.Sub(r.now).Round(time.Second).String()
	}
	return "none"
}

// Detail explains the outcome.
func (r *accessRow) Detail() string { return Escape(r.a.Detail) }

// MarshalJSON is the `--format json` object.
func (r *accessRow) MarshalJSON() ([]byte, error) {
	v := struct {
		Registry, Repository, Source, Username string
		OK                                     bool
		TokenLifetimeSeconds                   int64
		CachedToken                            bool
		CachedTokenExpires                     string `json:",omitempty"`
		Detail                                 string
	}{
		Registry: r.a.Host, Repository: r.a.Repo, Source: r.source(), Username: r.a.Username,
		OK: r.a.OK, TokenLifetimeSeconds: int64(r.a.Lifetime / time.Second),
		CachedToken: r.a.CachedToken, Detail: r.a.Detail,
	}
	if r.a.CachedToken {
		v.CachedTokenExpires = r.a.CachedExpires.UTC().Format(time.RFC3339)
	}
	return json.Marshal(v)
}
