package tagver

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		tag      string
		version  bool
		parts    []uint64
		epoch    int
		pre      string
		suffixes []string
		stream   string
	}{
		{tag: "3.12", version: true, parts: []uint64{3, 12}, epoch: -1},
		{tag: "1.23.4-r2", version: true, parts: []uint64{1, 23, 4}, epoch: 2},
		{tag: "22-dev", version: true, parts: []uint64{22}, epoch: -1, suffixes: []string{"dev"}},
		{tag: "v1.2.3.4", version: true, parts: []uint64{1, 2, 3, 4}, epoch: -1},
		{tag: "1.23.4-r0-fips-dev", version: true, parts: []uint64{1, 23, 4}, epoch: 0, suffixes: []string{"fips", "dev"}},
		{tag: "3.14.0-rc1", version: true, parts: []uint64{3, 14, 0}, epoch: -1, pre: "rc1"},
		{tag: "3.12-202611301207", version: true, parts: []uint64{3, 12}, epoch: -1, stream: "3.12"},
		{tag: "3.12-dev-20261130", version: true, parts: []uint64{3, 12}, epoch: -1, suffixes: []string{"dev"}, stream: "3.12-dev"},
		{tag: "latest-20261130", stream: "latest", epoch: -1},
		{tag: "latest", epoch: -1},
		{tag: "latest-dev", epoch: -1},
		{tag: "sha256-" + strings.Repeat("a", 64) + ".sig", epoch: -1},
		{tag: "3.12.x", epoch: -1},
		{tag: "v", epoch: -1},
		{tag: "1..2", epoch: -1},
		{tag: "1.2.3.4.5", epoch: -1},
		{tag: "1.2-", epoch: -1},
		{tag: "1.2--dev", epoch: -1},
		{tag: "1.2-dév", epoch: -1},
		{tag: "3.١٢", epoch: -1},
		{tag: "1234567890", epoch: -1},         // ten digits: a date or a hash, no version
		{tag: "a1b2c3d", epoch: -1},            // a commit hash
		{tag: "1." + strings.Repeat("1", 127)}, // longer than a tag may be
	} {
		t.Run(tc.tag, func(t *testing.T) {
			got := Parse(tc.tag)
			assert.Equal(t, got.IsVersion(), tc.version)
			assert.DeepEqual(t, got.Parts, tc.parts)
			if tc.version {
				assert.Equal(t, got.Epoch, tc.epoch)
			}
			assert.Equal(t, got.Pre, tc.pre)
			assert.DeepEqual(t, got.Suffixes, tc.suffixes)
			assert.Equal(t, got.Stream, tc.stream)
		})
	}
}

func TestOrder(t *testing.T) {
	// Ascending: numeric per part, prerelease before release, then epoch.
	order := []string{"1.9.0", "1.10.0-alpha", "1.10.0-beta.2", "1.10.0-rc1", "1.10.0-rc2", "1.10.0", "1.23.4-r2", "1.23.4-r3", "1.23.5-r0", "1.23.10-r0"}
	for i := 1; i < len(order); i++ {
		a, b := Parse(order[i-1]), Parse(order[i])
		assert.Assert(t, Compare(a, b) < 0, "%s < %s", order[i-1], order[i])
		assert.Assert(t, Compare(b, a) > 0, "%s > %s", order[i], order[i-1])
	}
}

func TestCompatible(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{"3.12", "3.13", true},
		{"3.12", "3.13.1", false}, // the same number of parts
		{"3.12-dev", "3.13-dev", true},
		{"3.12-dev", "3.13", false},
		{"3.12", "3.13-dev", false},
		{"3.12-fips-dev", "3.13-dev-fips", false}, // suffixes in order
		{"v1.2", "1.3", false},                    // the v prefix
		{"1.23.4-r2", "1.23.5-r0", true},
		{"1.23.4", "1.23.5-r0", false}, // an epoch only where there is one
		{"1.23.4-r2", "1.23.5", false},
		{"3.13", "3.14-rc1", false}, // no prerelease for a release
		{"3.14-rc1", "3.14-rc2", true},
		{"3.14-rc1", "3.14", true},
		{"3.12", "3.12-202611301207", false}, // a unique tag is a build, not a version
		{"latest", "latest-dev", false},
	} {
		assert.Equal(t, Parse(tc.from).Compatible(Parse(tc.to)), tc.ok, "%s → %s", tc.from, tc.to)
	}
}

// chainguard is a realistic tag list of a Chainguard repository: streams
// with and without epochs, -dev and -fips variants, unique tags, a
// release candidate, signature tags and tags that are no versions.
var chainguard = []string{
	"latest", "latest-dev", "latest-20261130", "3", "3-dev",
	"3.9", "3.9-dev", "3.9.20", "3.9.20-r0",
	"3.12", "3.12-dev", "3.12-fips", "3.12.7", "3.12.8", "3.12.8-r0", "3.12.8-r1", "3.12.8-dev",
	"3.12-202611291207", "3.12-202611301207", "3.12-dev-202611301207",
	"3.13", "3.13-dev", "3.13.1", "3.13.1-r0", "3.13.1-r3",
	"3.14-rc1", "3.14.0-rc1",
	"4.0-beta", "sha256-" + strings.Repeat("a", 64) + ".sig", "sha256-" + strings.Repeat("a", 64) + ".att",
	"3.12.x", "v", "1..2", "abcdef1",
}

func TestNewest(t *testing.T) {
	for _, tc := range []struct {
		current string
		level   Level
		want    string
	}{
		{"3.12", Patch, "3.12"}, // two parts: no patch part
		{"3.12", Minor, "3.13"}, // never 3.14-rc1, never 3.13.1
		{"3.12", Major, "3.13"},
		{"3.9-dev", Minor, "3.13-dev"},
		{"3.12-fips", Minor, "3.12-fips"},
		{"3.12.7", Patch, "3.12.8"},
		{"3.12.7", Minor, "3.13.1"},
		{"3.12.8-r0", Patch, "3.12.8-r1"},
		{"3.12.8-r0", Minor, "3.13.1-r3"},
		{"3", Minor, "3"},
		{"3", Major, "3"},
		{"3.14-rc1", Minor, "3.14-rc1"}, // the only 3.14 prerelease; 3.13 is older
		{"3.14.0-rc1", Patch, "3.14.0-rc1"},
		{"latest", Major, "latest"},
		{"3.12-202611291207", Major, "3.12-202611291207"}, // unique tags move by build, not version
		{"3.12", None, "3.12"},
	} {
		got, moved := Newest(tc.current, chainguard, tc.level)
		assert.Equal(t, got, tc.want, "%s under %s", tc.current, tc.level)
		assert.Equal(t, moved, got != tc.current)
	}
}

// Renovate's docker versioning, as its documentation describes it
// (https://docs.renovatebot.com/modules/versioning/docker/ and
// https://docs.renovatebot.com/docker/): the precision is kept (a 12.14
// user gets 12.15, never 12.15.0) and suffixes are compatibility markers
// (12.15.0-alpine moves to 12.16.0-alpine, never to 12.16.0 or
// 12.16.0-stretch). Dependabot's docker updates keep the precision and
// the suffix the same way (https://docs.github.com/en/code-security/
// dependabot/ecosystems-supported-by-dependabot/supported-ecosystems-and-repositories,
// Docker). Tag sets written here after those examples.
func TestPeerExamples(t *testing.T) {
	node := []string{"12.14", "12.15", "12.15.0", "12.15.0-alpine", "12.15.0-stretch", "12.16.0", "12.16.0-alpine", "12.16.0-stretch", "14", "16", "16.1", "1.2.0-alpha.2"}
	for _, tc := range []struct {
		current string
		level   Level
		want    string
	}{
		{"12.14", Minor, "12.15"},
		{"12.15.0-alpine", Minor, "12.16.0-alpine"},
		{"12.15.0-stretch", Minor, "12.16.0-stretch"},
		{"12.15.0", Minor, "12.16.0"},
		{"14", Major, "16"}, // never 16.1
	} {
		got, _ := Newest(tc.current, node, tc.level)
		assert.Equal(t, got, tc.want, "%s under %s", tc.current, tc.level)
	}
	// A prerelease in SemVer terms is recognised as one, not a suffix.
	assert.Equal(t, Parse("1.2.0-alpha.2").Pre, "alpha.2")
}

func TestCandidatesAndBuilds(t *testing.T) {
	assert.DeepEqual(t, Candidates("3.12.7", chainguard, Minor), []string{"3.13.1", "3.12.8", "3.12.7"})
	assert.DeepEqual(t, Builds("3.12", chainguard), []string{"3.12-202611301207", "3.12-202611291207"})
	assert.DeepEqual(t, Builds("latest", chainguard), []string{"latest-20261130"})
	assert.DeepEqual(t, Builds("3.13", chainguard), []string{})
}

func TestStreams(t *testing.T) {
	var got []string
	for _, s := range Streams(chainguard) {
		got = append(got, fmt.Sprintf("%s%v", s.Tag, s.Builds))
	}
	assert.DeepEqual(t, got, []string{
		"3[]", "3.9[]", "3.12[3.12-202611301207 3.12-202611291207]", "3.13[]",
		"3.9.20[3.9.20-r0]", "3.12.7[]", "3.12.8[3.12.8-r1 3.12.8-r0]", "3.13.1[3.13.1-r3 3.13.1-r0]",
		"3.14-rc1[]", "4.0-beta[]", "3.14.0-rc1[]",
		"3-dev[]", "3.9-dev[]", "3.12-dev[3.12-dev-202611301207]", "3.13-dev[]", "3.12.8-dev[]", "3.12-fips[]",
	})
}

func TestParseLevel(t *testing.T) {
	for i, name := range Levels {
		l, err := ParseLevel(name)
		assert.NilError(t, err)
		assert.Equal(t, l, Level(i))
		assert.Equal(t, l.String(), name)
	}
	_, err := ParseLevel("micro")
	assert.ErrorContains(t, err, `unknown bump level "micro": want patch, minor, major or none`)
}

// Thousands of tags, and hostile ones, cost little and never panic.
func TestManyTags(t *testing.T) {
	var tags []string
	for i := range 5000 {
		tags = append(tags, fmt.Sprintf("%d.%d.%d-r%d", i/1000, i/100%10, i%100, i%3))
	}
	tags = append(tags, strings.Repeat("9", 128), strings.Repeat("1.", 64), "\x1b[2J", "1.2-\u202e")
	got, _ := Newest("0.0.0-r0", tags, Major)
	assert.Equal(t, got, "4.9.99-r1")
	assert.Assert(t, !slices.ContainsFunc(Streams(tags), func(s Stream) bool { return strings.ContainsAny(s.Tag, "\x1b\u202e") }))
}
