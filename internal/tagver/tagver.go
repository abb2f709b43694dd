// Package tagver reads image tags as versions, the way Chainguard tags
// them: "[v]N[.N[.N[.N]]]", an optional package epoch "-rN", optional
// suffixes ("-dev", "-fips", …) and, for unique tags, a build timestamp
// ("3.12-202611301207"). It says which tags are compatible with a tag
// (same shape and suffixes), orders them, picks the newest a bump level
// allows, and groups a repository's tags into version streams. Written by
// hand: Renovate's and Dependabot's docker versioning are not Go libraries,
// and neither knows epochs or unique tags.
package tagver

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Level is how far a bump may move a version tag.
type Level int

// Bump levels: None moves nothing; Patch only the last part (and the
// epoch); Minor anything below the first part; Major anything.
const (
	None Level = iota
	Patch
	Minor
	Major
)

// Levels are the level names, as --bump takes them.
var Levels = []string{"none", "patch", "minor", "major"}

// ParseLevel reads a level name.
func ParseLevel(s string) (Level, error) {
	if i := slices.Index(Levels, s); i >= 0 {
		return Level(i), nil
	}
	return None, fmt.Errorf("unknown bump level %q: want patch, minor, major or none", s)
}

func (l Level) String() string {
	if l < None || l > Major {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return Levels[l]
}

// Limits on what is read as a version: a tag is at most 128 characters
// (the distribution spec's bound), a version has at most 4 parts of at
// most 9 digits each (longer runs of digits are dates or hashes), and a
// unique tag's timestamp has 8 to 14 digits.
const (
	MaxTagLen    = 128
	maxParts     = 4
	maxPartLen   = 9
	minStampLen  = 8
	maxStampLen  = 14
	maxSuffixLen = 32
)

// Tag is a tag taken apart. A tag that is no version (latest,
// latest-dev, a commit hash) has no Parts; a unique tag of it still has
// Stream and Stamp.
type Tag struct {
	Raw string
	// V says the version is written "v1.2".
	V bool
	// Parts are the numbers of the version, 1 to 4 of them; nil for a tag
	// that is no version.
	Parts []uint64
	// Epoch is Chainguard's package epoch ("-r2"), -1 when there is none.
	Epoch int
	// Pre is a prerelease suffix ("rc1", "beta.2"), "" when none.
	Pre string
	// Suffixes are the compatibility suffixes, in order ("dev", "fips").
	Suffixes []string
	// Stream is the stream tag a unique tag is a build of ("3.12" of
	// "3.12-202611301207"); "" for a tag that is no unique tag.
	Stream string
	// Stamp is a unique tag's timestamp digits.
	Stamp string
}

// IsVersion says the tag is a version tag (unique or not).
func (t Tag) IsVersion() bool { return len(t.Parts) > 0 }

// IsUnique says the tag is a unique tag: a stream tag and a timestamp.
func (t Tag) IsUnique() bool { return t.Stamp != "" }

// Parse takes a tag apart. It never fails: a tag that is no version has
// no Parts. Signature and attestation tags ("sha256-….sig") are nothing.
func Parse(tag string) Tag {
	t := Tag{Raw: tag, Epoch: -1}
	if len(tag) > MaxTagLen || strings.HasPrefix(tag, "sha256-") {
		return t
	}
	body := tag
	if i := strings.LastIndexByte(tag, '-'); i > 0 && digits(tag[i+1:]) && len(tag)-i-1 >= minStampLen && len(tag)-i-1 <= maxStampLen {
		t.Stream, t.Stamp, body = tag[:i], tag[i+1:], tag[:i]
	}
	v, ok := parseVersion(body)
	if !ok {
		return Tag{Raw: tag, Epoch: -1, Stream: t.Stream, Stamp: t.Stamp}
	}
	v.Raw, v.Stream, v.Stamp = tag, t.Stream, t.Stamp
	return v
}

// parseVersion reads "[v]N[.N…][-rN][-suffix…]".
func parseVersion(s string) (Tag, bool) {
	t := Tag{Epoch: -1}
	if strings.HasPrefix(s, "v") {
		t.V, s = true, s[1:]
	}
	head, rest, _ := strings.Cut(s, "-")
	for p := range strings.SplitSeq(head, ".") {
		if !digits(p) || len(p) > maxPartLen || len(t.Parts) == maxParts {
			return Tag{}, false
		}
		n, _ := strconv.ParseUint(p, 10, 64)
		t.Parts = append(t.Parts, n)
	}
	if rest == "" {
		if strings.HasSuffix(s, "-") {
			return Tag{}, false
		}
		return t, true
	}
	words := strings.Split(rest, "-")
	if e, ok := epoch(words[0]); ok {
		t.Epoch, words = e, words[1:]
	}
	for _, w := range words {
		switch {
		case w == "" || len(w) > maxSuffixLen || !word(w):
			return Tag{}, false
		case t.Pre == "" && len(t.Suffixes) == 0 && prerelease(w):
			t.Pre = w
		default:
			t.Suffixes = append(t.Suffixes, w)
		}
	}
	return t, true
}

// epoch reads "rN".
func epoch(w string) (int, bool) {
	if len(w) < 2 || len(w) > maxPartLen+1 || w[0] != 'r' || !digits(w[1:]) {
		return 0, false
	}
	n, _ := strconv.Atoi(w[1:])
	return n, true
}

// preNames are the prerelease words, in release order.
var preNames = []string{"alpha", "beta", "pre", "rc"}

// prerelease says w marks a prerelease: alpha, beta, pre or rc, with or
// without a number ("rc1", "rc.2", "beta").
func prerelease(w string) bool {
	_, _, ok := splitPre(w)
	return ok
}

func splitPre(w string) (rank int, n uint64, ok bool) {
	l := strings.ToLower(w)
	for i, p := range preNames {
		if rest, found := strings.CutPrefix(l, p); found {
			rest = strings.TrimPrefix(rest, ".")
			if rest == "" {
				return i, 0, true
			}
			if digits(rest) && len(rest) <= maxPartLen {
				n, _ := strconv.ParseUint(rest, 10, 64)
				return i, n, true
			}
		}
	}
	return 0, 0, false
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// word says w is a suffix word: ASCII letters, digits, '.' and '_'.
func word(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// Compatible says other may replace t: both versions, neither unique, the
// same number of parts, the same v prefix, the same suffixes in the same
// order, an epoch only where t has one, and a prerelease only where t is
// one.
func (t Tag) Compatible(other Tag) bool {
	return t.IsVersion() && other.IsVersion() && !t.IsUnique() && !other.IsUnique() &&
		len(t.Parts) == len(other.Parts) && t.V == other.V && slices.Equal(t.Suffixes, other.Suffixes) &&
		(t.Epoch >= 0) == (other.Epoch >= 0) && (t.Pre != "" || other.Pre == "")
}

// Compare orders version tags: numerically part by part, a prerelease
// before its release (alpha < beta < pre < rc, then by number), then by
// epoch. Tags of other shapes compare by their text.
func Compare(a, b Tag) int {
	if c := slices.Compare(a.Parts, b.Parts); c != 0 {
		return c
	}
	if c := comparePre(a.Pre, b.Pre); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Epoch, b.Epoch); c != 0 {
		return c
	}
	return cmp.Compare(a.Stamp, b.Stamp)
}

func comparePre(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	ra, na, _ := splitPre(a)
	rb, nb, _ := splitPre(b)
	return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(na, nb))
}

// Within says the move from t to other stays within level: Patch keeps
// every part but the last, and always the first two (a two-part tag has
// no patch part: only its epoch moves); Minor keeps the first part; Major
// keeps nothing.
func (t Tag) Within(other Tag, level Level) bool {
	keep := 0
	switch level {
	case None:
		return false
	case Patch:
		keep = min(max(len(t.Parts)-1, 2), len(t.Parts))
	case Minor:
		keep = 1
	}
	return len(other.Parts) >= keep && slices.Equal(t.Parts[:keep], other.Parts[:keep])
}

// Newest is the newest tag of tags that current may move to under level
// (current itself when none is newer), and whether it differs from
// current. A two-part tag under Patch moves only its epoch; current must
// be a version tag that is no unique tag.
func Newest(current string, tags []string, level Level) (string, bool) {
	cur := Parse(current)
	if !cur.IsVersion() || cur.IsUnique() || level == None {
		return current, false
	}
	best := cur
	for _, s := range tags {
		c := Parse(s)
		if !cur.Compatible(c) || !cur.Within(c, level) {
			continue
		}
		if Compare(c, best) > 0 {
			best = c
		}
	}
	return best.Raw, best.Raw != current
}

// Candidates lists, newest first, the tags current may move to under
// level, current included (it is the last resort): a caller skips those
// whose image is gone.
func Candidates(current string, tags []string, level Level) []string {
	cur := Parse(current)
	if !cur.IsVersion() || cur.IsUnique() || level == None {
		return []string{current}
	}
	var out []Tag
	for _, s := range tags {
		c := Parse(s)
		if s != current && cur.Compatible(c) && cur.Within(c, level) && Compare(c, cur) > 0 {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Tag) int { return Compare(b, a) })
	names := make([]string, 0, len(out)+1)
	for _, c := range out {
		names = append(names, c.Raw)
	}
	return append(names, current)
}

// Builds lists the unique tags of stream among tags, newest first (by
// timestamp; stamps of different lengths compare as numbers padded on the
// right, so "20261130" is midnight of "202611301207"'s day).
func Builds(stream string, tags []string) []string {
	var out []Tag
	for _, s := range tags {
		if c := Parse(s); c.IsUnique() && c.Stream == stream {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Tag) int { return cmp.Compare(pad(b.Stamp), pad(a.Stamp)) })
	names := make([]string, len(out))
	for i, c := range out {
		names[i] = c.Raw
	}
	return names
}

func pad(stamp string) string { return stamp + strings.Repeat("0", maxStampLen-len(stamp)) }

// Stream is a version stream of a repository: a version tag that is
// rebuilt ("3.12", "3.12-dev"), and the tags that are builds of it (its
// unique tags and, for a tag without an epoch, its epoch tags "3.12.4-rN").
type Stream struct {
	Tag    string
	Builds []string // newest first
}

// Streams groups tags into version streams, ordered by suffixes
// (releases before prereleases), shape, then version. Tags that are no version, unique tags and
// epoch tags are no streams of their own.
func Streams(tags []string) []Stream {
	byTag := map[string]*Stream{}
	var heads []Tag
	for _, s := range tags {
		t := Parse(s)
		if t.IsVersion() && !t.IsUnique() && t.Epoch < 0 {
			heads = append(heads, t)
			byTag[s] = &Stream{Tag: s}
		}
	}
	for _, s := range tags {
		t := Parse(s)
		switch {
		case t.IsUnique():
			if st := byTag[t.Stream]; st != nil {
				st.Builds = append(st.Builds, s)
			}
		case t.IsVersion() && t.Epoch >= 0:
			if st := byTag[withoutEpoch(t)]; st != nil {
				st.Builds = append(st.Builds, s)
			}
		}
	}
	slices.SortFunc(heads, func(a, b Tag) int {
		return cmp.Or(cmp.Compare(strings.Join(a.Suffixes, "-"), strings.Join(b.Suffixes, "-")), cmp.Compare(preRank(a), preRank(b)),
			cmp.Compare(family(a), family(b)), Compare(a, b), cmp.Compare(a.Raw, b.Raw))
	})
	out := make([]Stream, 0, len(heads))
	for _, h := range heads {
		st := byTag[h.Raw]
		slices.SortFunc(st.Builds, func(a, b string) int {
			ta, tb := Parse(a), Parse(b)
			return cmp.Or(cmp.Compare(pad(tb.Stamp), pad(ta.Stamp)), Compare(tb, ta))
		})
		out = append(out, *st)
	}
	return out
}

// Family names the shape and suffixes of a version tag ("N.N-dev",
// "vN.N.N"): compatible tags share it.
func Family(tag string) string { return family(Parse(tag)) }

func family(t Tag) string {
	var b strings.Builder
	if t.V {
		b.WriteString("v")
	}
	b.WriteString(strings.TrimSuffix(strings.Repeat("N.", len(t.Parts)), "."))
	if t.Epoch >= 0 {
		b.WriteString("-rN")
	}
	if t.Pre != "" {
		b.WriteString("-pre")
	}
	for _, s := range t.Suffixes {
		b.WriteString("-" + s)
	}
	return b.String()
}

// withoutEpoch is the tag t would be without its epoch.
func withoutEpoch(t Tag) string {
	s := t.Raw
	if t.IsUnique() {
		s = t.Stream
	}
	head, rest, _ := strings.Cut(s, "-")
	words := strings.Split(rest, "-")
	return strings.Join(append([]string{head}, words[1:]...), "-")
}

// preRank sorts releases before prereleases.
func preRank(t Tag) int {
	if t.Pre != "" {
		return 1
	}
	return 0
}
