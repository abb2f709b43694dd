package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Error kinds, for errors.Is.
var (
	ErrUnauthorized = errors.New("authentication required")
	ErrDenied       = errors.New("access denied")
	ErrNotFound     = errors.New("not found")
	ErrUnreachable  = errors.New("registry unreachable")
	ErrBadResponse  = errors.New("bad response from registry")
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
// registry's error body (bounded). It closes the body on error.
func (c *Client) CheckResponse(resp *http.Response, repo string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var reg struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	var codes, msgs []string
	if json.Unmarshal(body, &reg) == nil {
		for _, x := range reg.Errors {
			codes = append(codes, x.Code)
			if x.Message != "" {
				msgs = append(msgs, x.Message)
			}
		}
	}
	return c.statusError(resp.Request.URL.Host, repo, resp.StatusCode, codes, msgs)
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
