package ref

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// MirrorMap maps pull-through caches of a registry to it: each entry says
// that references under Mirror ("artifactory.example.com/cgr-remote/chainguard")
// are Upstream's ("cgr.dev/chainguard"). The longest matching prefix wins.
type MirrorMap struct {
	entries []mirrorEntry // longest mirror prefix first
}

type mirrorEntry struct {
	Mirror, Upstream string
	Source           string // where the entry came from, for errors and --show-config
}

// ParseMirrorMap reads "MIRROR_PREFIX=UPSTREAM_PREFIX" pairs (source names
// where they came from). Prefixes are repository paths with their host;
// a later pair for the same mirror prefix replaces an earlier one.
func ParseMirrorMap(source string, pairs []string) (MirrorMap, error) {
	var m MirrorMap
	err := m.Add(source, pairs)
	return m, err
}

// Add adds pairs that take precedence over the ones already there.
func (m *MirrorMap) Add(source string, pairs []string) error {
	for _, p := range pairs {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		mirror, upstream, ok := strings.Cut(p, "=")
		mirror, upstream = strings.TrimSuffix(strings.TrimSpace(mirror), "/"), strings.TrimSuffix(strings.TrimSpace(upstream), "/")
		if !ok || mirror == "" || upstream == "" {
			return fmt.Errorf("%s: registry map %q: want MIRROR_PREFIX=UPSTREAM_PREFIX", source, p)
		}
		for _, s := range []string{mirror, upstream} {
			if _, err := name.NewRepository(s, name.WeakValidation); err != nil && !IsRegistry(s) {
				return fmt.Errorf("%s: registry map %q: %q is not a registry or repository prefix", source, p, s)
			}
		}
		m.entries = append(m.entries[:0:0], append(filterOut(m.entries, mirror), mirrorEntry{mirror, upstream, source})...)
	}
	sort.SliceStable(m.entries, func(i, j int) bool { return len(m.entries[i].Mirror) > len(m.entries[j].Mirror) })
	return nil
}

func filterOut(es []mirrorEntry, mirror string) []mirrorEntry {
	var out []mirrorEntry
	for _, e := range es {
		if e.Mirror != mirror {
			out = append(out, e)
		}
	}
	return out
}

// Empty reports whether no mirror is mapped.
func (m MirrorMap) Empty() bool { return len(m.entries) == 0 }

// Upstream returns the upstream repository of a mirror's repository.
func (m MirrorMap) Upstream(repo name.Repository) (name.Repository, bool) {
	full := repo.Name()
	for _, e := range m.entries {
		if full == e.Mirror || strings.HasPrefix(full, e.Mirror+"/") {
			up, err := name.NewRepository(e.Upstream+strings.TrimPrefix(full, e.Mirror), name.WeakValidation)
			if err != nil {
				return name.Repository{}, false
			}
			return up, true
		}
	}
	return name.Repository{}, false
}

// Pairs lists the map as "MIRROR=UPSTREAM (source)", longest first.
func (m MirrorMap) Pairs() []string {
	out := make([]string, len(m.entries))
	for i, e := range m.entries {
		out[i] = e.Mirror + "=" + e.Upstream + " (" + e.Source + ")"
	}
	return out
}
