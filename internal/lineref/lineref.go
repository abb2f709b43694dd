// Package lineref finds image references in line-oriented files: Podman
// Quadlet units (Image=), Compose's .env files (KEY=REF) and lines marked
// "cgpin: image" in any text file. Each reference is a byte span of one
// line, so a pin changes only its bytes (CRLF, BOM and comments kept).
package lineref

import (
	"bytes"
	"errors"
	"regexp"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// line is one line of a file: its text without the line ending, and the
// byte offset where it starts.
type line struct {
	n     int // 1-based
	start int
	text  string
}

// lines splits src at "\n", dropping a "\r" before it and a BOM before
// the first line; offsets stay offsets in src.
func lines(src []byte) ([]line, error) {
	if bytes.IndexByte(src, 0) >= 0 {
		return nil, errors.New("binary file (contains NUL bytes)")
	}
	var out []line
	off := 0
	if bytes.HasPrefix(src, []byte("\xEF\xBB\xBF")) {
		off = 3
	}
	for n := 1; off < len(src) || off == len(src) && n == 1; n++ {
		end := bytes.IndexByte(src[off:], '\n')
		if end < 0 {
			end = len(src) - off
		}
		text := strings.TrimSuffix(string(src[off:off+end]), "\r")
		out = append(out, line{n: n, start: off, text: text})
		off += end + 1
	}
	return out, nil
}

var variable = regexp.MustCompile(`\$[A-Za-z_{(]|\{\{|%[a-zA-Z%]`)

// value takes the text at l.text[at:] (trimmed of spaces and one pair of
// quotes) as a reference of kind: a Found, or why it is left alone.
func value(kind ref.Kind, l line, at int, text string) (ref.Found, *ref.Skipped) {
	lead := len(text) - len(strings.TrimLeft(text, " \t"))
	text = strings.TrimRight(text[lead:], " \t")
	at += lead
	if len(text) >= 2 && (text[0] == '"' || text[0] == '\'') && text[len(text)-1] == text[0] {
		text, at = text[1:len(text)-1], at+1
	}
	skip := func(reason string) (ref.Found, *ref.Skipped) {
		return ref.Found{}, &ref.Skipped{Kind: kind, Line: l.n, Text: text, Reason: reason}
	}
	switch {
	case text == "":
		return skip("no value")
	case variable.MatchString(text):
		return skip("contains unresolved variables or specifiers")
	case strings.ContainsAny(text, " \t\"'\\`"):
		return skip("not a single image reference (spaces, quotes or escapes)")
	}
	fd, err := ref.Parse(kind, l.n, l.start+at, text)
	if err != nil {
		return skip("not an image reference")
	}
	return fd, nil
}
