package registry

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Error kinds, for errors.Is.
var (
	ErrUnauthorized = errors.New("authentication required")
	ErrDenied       = errors.New("access denied")
	ErrNotFound     = errors.New("not found")
	ErrUnreachable  = errors.New("registry unreachable")
	ErrBadResponse  = errors.New("bad response from registry")
	ErrIntegrity    = errors.New("content does not match its digest")
	ErrTooLarge     = errors.New("too large")
)

// Error is a registry failure with what a user needs to fix it.
type Error struct {
	Kind     error // one of the Err* kinds
	Host     string
	Repo     string
	Source   string // credential source, "" when anonymous
	Username string
	Status   int
	Codes    []string // registry error codes, e.g. NAME_UNKNOWN
	Message  string   // the registry's own message
	Subject  string   // what was read, for ErrIntegrity and ErrTooLarge ("blob sha256:…")
	Err      error
	// LookupErr is a failed credential lookup, worth mentioning on auth errors.
	LookupErr error
}

func (e *Error) Error() string {
	var b strings.Builder
	switch e.Kind {
	case ErrUnauthorized:
		fmt.Fprintf(&b, "authentication required for %s", e.target())
		if e.Source == "" {
			fmt.Fprintf(&b, ": no credentials found for %s; run `docker login %s` or configure a credential helper", e.Host, e.Host)
		} else {
			fmt.Fprintf(&b, ": the credentials from %s%s were not accepted; run `docker login %s` to refresh them", e.Source, e.user(), e.Host)
		}
	case ErrDenied:
		fmt.Fprintf(&b, "access denied to %s", e.target())
		if e.Source == "" {
			fmt.Fprintf(&b, " for anonymous pulls; run `docker login %s` or configure a credential helper", e.Host)
		} else {
			fmt.Fprintf(&b, " for the credentials from %s%s; check them with `docker login %s`", e.Source, e.user(), e.Host)
		}
	case ErrUnreachable:
		fmt.Fprintf(&b, "cannot reach registry %s", e.Host)
	case ErrIntegrity:
		fmt.Fprintf(&b, "%s from %s does not match its digest (corrupted in transit, in a mirror or in storage); nothing was cached", e.Subject, e.target())
	case ErrTooLarge:
		fmt.Fprintf(&b, "%s in %s is too large", e.Subject, e.target())
	default:
		b.WriteString(e.Kind.Error())
		if e.Repo != "" || e.Host != "" {
			fmt.Fprintf(&b, ": %s", e.target())
		}
	}
	if e.Message != "" {
		fmt.Fprintf(&b, " (registry said: %s)", e.Message)
	}
	if e.LookupErr != nil && (e.Kind == ErrUnauthorized || e.Kind == ErrDenied) {
		fmt.Fprintf(&b, " (reading credentials failed: %v)", e.LookupErr)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) target() string {
	if e.Repo == "" {
		return e.Host
	}
	return e.Host + "/" + e.Repo
}

func (e *Error) user() string {
	if e.Username == "" || e.Username == "<token>" || e.Username == "_token" {
		return ""
	}
	return " (user " + e.Username + ")"
}

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// HasCode reports whether the registry answered with the error code.
func (e *Error) HasCode(code string) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}

func isAuthError(err error) bool {
	return errors.Is(err, ErrDenied) || errors.Is(err, ErrUnauthorized)
}

// CheckResponse turns a non-2xx answer for repo into an *Error, reading the
// registry's error body (bounded) with go-containerregistry's parser, as
// every other registry answer is. It closes the body on error.
func (c *Client) CheckResponse(resp *http.Response, repo name.Repository) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	defer resp.Body.Close()
	return c.translate(transport.CheckError(resp), repo)
}

// translate turns go-containerregistry errors into *Error.
func (c *Client) translate(err error, repo name.Repository) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return &Error{Kind: ErrUnreachable, Host: repo.RegistryStr(), Err: redactErr(err)}
	}
	var codes, msgs []string
	for _, d := range terr.Errors {
		codes = append(codes, string(d.Code))
		if d.Message != "" {
			msgs = append(msgs, d.Message)
		}
	}
	return c.statusError(repo.RegistryStr(), repo.RepositoryStr(), terr.StatusCode, codes, msgs)
}

// statusError classifies a registry's error answer.
func (c *Client) statusError(host, repo string, status int, codes, msgs []string) *Error {
	e := &Error{Host: host, Repo: repo, Status: status, Codes: codes, Message: strings.Join(msgs, "; ")}
	creds := c.Describe(host)
	e.Source, e.Username, e.LookupErr = creds.Source, creds.Auth.Username, creds.LookupErr
	switch status {
	case http.StatusUnauthorized:
		e.Kind = ErrUnauthorized
		if e.Source != "" {
			e.Kind = ErrDenied // we sent credentials: they lack access
		}
	case http.StatusForbidden:
		e.Kind = ErrDenied
	case http.StatusNotFound:
		e.Kind = ErrNotFound
	default:
		e.Kind = ErrBadResponse
		if e.Message == "" {
			e.Message = statusText(status)
		}
	}
	return e
}

// redactErr strips URL secrets from an error's text.
func redactErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(redactText(err.Error()))
}

// RequestError explains a failed HTTP round trip to host: an *Error raised
// while authorising the request is returned as is; anything else means the
// registry could not be reached.
func RequestError(host string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: ErrUnreachable, Host: host, Err: redactErr(err)}
}
