package output

import (
	"errors"
	"fmt"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
)

// summary is a one-line account of an explanation, like a changelog entry:
// "openssl 3.4.0-r0→3.4.0-r1 (fixes CVE-2024-0001), +libxml2, -busybox".
// What explains nothing (a first pin) reads "newly pinned"; a failure reads
// cannot + ": " + the error.
func summary(e imagediff.Explanation, cannot string) string {
	switch {
	case errors.Is(e.Err, imagediff.ErrFirstBuild):
		return e.Err.Error()
	case e.Err != nil:
		return cannot + ": " + e.Err.Error()
	case e.Result == nil:
		return "newly pinned"
	}
	r := e.Result
	var parts []string
	for _, c := range r.Changed {
		s := fmt.Sprintf("%s %s→%s", c.Current.Name, c.Previous.Version, c.Current.Version)
		if !c.Upgrade {
			s += " (downgrade)"
		}
		if ids := r.FixedBy(c); len(ids) > 0 {
			s += " (fixes " + strings.Join(ids, ", ") + ")"
		}
		parts = append(parts, s)
	}
	for _, p := range r.Added {
		parts = append(parts, "+"+p.Name)
	}
	for _, p := range r.Removed {
		parts = append(parts, "-"+p.Name)
	}
	if len(r.VulnsAdded) > 0 {
		ids := make([]string, 0, len(r.VulnsAdded))
		for _, f := range r.VulnsAdded {
			ids = append(ids, f.ID)
		}
		parts = append(parts, "introduces "+strings.Join(ids, ", "))
	}
	if len(parts) == 0 {
		if len(r.Config) > 0 {
			return "config changed"
		}
		return "no package changes"
	}
	return strings.Join(parts, ", ")
}
