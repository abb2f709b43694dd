package bisect

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func digestN(i int) v1.Hash {
	h, _ := v1.NewHash(fmt.Sprintf("sha256:%064x", i+1))
	return h
}

func TestSequenceCountsARepeatedDigestOnceAtItsFirstAppearance(t *testing.T) {
	// Newest first, as history lists it: 0, 1, 2, then back to 1, then 3.
	entries := []history.Entry{
		{Digest: digestN(3), UpdatedAt: t0.Add(4 * time.Hour)},
		{Digest: digestN(1), UpdatedAt: t0.Add(3 * time.Hour)},
		{Digest: digestN(2), UpdatedAt: t0.Add(2 * time.Hour)},
		{Digest: digestN(1), UpdatedAt: t0.Add(1 * time.Hour)},
		{Digest: digestN(0), UpdatedAt: t0},
	}
	seq := Sequence(entries)
	var got []string
	for _, b := range seq {
		got = append(got, b.Digest.Hex[63:])
	}
	if strings.Join(got, ",") != "1,2,3,4" || !seq[1].UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("sequence %v", got)
	}
}

func TestLocate(t *testing.T) {
	var entries []history.Entry
	for i := range 5 {
		entries = append([]history.Entry{{Digest: digestN(i), UpdatedAt: t0.Add(time.Duration(i) * 24 * time.Hour)}}, entries...)
	}
	seq := Sequence(entries)
	now := t0.Add(4*24*time.Hour + time.Hour)
	for spec, want := range map[string]int{
		digestN(2).String():                         2,
		"cgr.dev/x/y:latest@" + digestN(1).String(): 1,
		"~0":                   4,
		"y~3":                  1,
		"2026-11-03":           2,
		"2026-11-03T12:00:00Z": 2,
		"49h":                  2,
		"2d":                   2,
	} {
		if got, err := Locate(seq, entries, spec, "--good", now); err != nil || got != want {
			t.Errorf("Locate(%q) = %d, %v; want %d", spec, got, err, want)
		}
	}
	for spec, msg := range map[string]string{
		digestN(9).String(): "is not in the tag's history",
		"y~5":               "only 5 builds in its history",
		"2026-10-01":        "the tag's history starts later",
		"yesterday":         "want a digest, IMAGE~N or a time",
	} {
		_, err := Locate(seq, entries, spec, "--good", now)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Locate(%q) = %v, want %q", spec, err, msg)
		}
	}
	// The tag went back to build 1 for a day: ~1 and that day are build 1,
	// at its first place; ~2 is build 4.
	back := append([]history.Entry{entries[0], {Digest: digestN(1), UpdatedAt: t0.Add(3*24*time.Hour + time.Hour)}}, entries[1:]...)
	for spec, want := range map[string]int{"~0": 4, "~1": 1, "~2": 3, "2026-11-04T02:00:00Z": 1} {
		if got, err := Locate(Sequence(back), back, spec, "--good", now); err != nil || got != want {
			t.Errorf("with a repeat, Locate(%q) = %d, %v; want %d", spec, got, err, want)
		}
	}
	var ne *NotInHistoryError
	if _, err := Locate(seq, entries, digestN(9).String(), "--bad", now); !errors.As(err, &ne) {
		t.Errorf("a digest not in the history: %v", err)
	}
}

func TestReadLog(t *testing.T) {
	m, err := parseLog("log", []byte("# docker cghistory bisect x\ngood "+digestN(1).String()+" exit=0 1s 2026-11-01T00:00:00Z\n\nskip "+digestN(2).String()+"\n"))
	if err != nil || m[digestN(1)] != Good || m[digestN(2)] != Skip || len(m) != 2 {
		t.Errorf("parseLog = %v, %v", m, err)
	}
	for in, msg := range map[string]string{
		"maybe " + digestN(1).String(): `log:1: verdict "maybe"`,
		"good sha256:xyz":              `log:1: digest "sha256:xyz"`,
		"# c\ngood":                    "log:2: want VERDICT DIGEST",
	} {
		if _, err := parseLog("log", []byte(in)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parseLog(%q) = %v, want %q", in, err, msg)
		}
	}
}
