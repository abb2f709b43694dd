package output

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape makes untrusted text (tag, package and label names, versions, env,
// registry messages) safe to print on a terminal: control characters, bidi
// overrides and the other runes strconv.IsGraphic rejects are shown as Go
// escapes ("\x1b", "\n", "\a", "\u202e"), and bytes that are not UTF-8 as
// "\xff", so no text can move the cursor, retitle the terminal, write the
// clipboard or forge a line. Printable text in any script, spaces and
// backslashes are left as they are; clean text is returned unchanged.
//
// Tables, Go templates (their fields are the same column methods),
// completion and error messages show escaped text; JSON keeps the raw value.
//
// Written by hand on strconv's tables: strconv.Quote also escapes quotes and
// backslashes and adds quotes around, which would change every ordinary
// value, and neither docker/cli nor golang.org/x/text has such a function.
func Escape(s string) string {
	i := unsafeAt(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for s = s[i:]; s != ""; {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case strconv.IsGraphic(r):
			b.WriteString(s[:n])
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\n', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		s = s[n:]
	}
	return b.String()
}

// EscapeLines wraps a log writer (the --debug log, warnings) so each line
// written through it is escaped as Escape does, its line breaks kept: the
// libraries that log know nothing of terminals, and a registry's text can
// reach their lines. Writes should hold whole lines (a rune split across
// two writes is shown as its bytes). It is as safe for concurrent use as w.
func EscapeLines(w io.Writer) io.Writer { return lineEscaper{w} }

type lineEscaper struct{ w io.Writer }

func (e lineEscaper) Write(p []byte) (int, error) {
	s := string(p)
	if unsafeAt(strings.ReplaceAll(s, "\n", "")) < 0 {
		return e.w.Write(p)
	}
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = Escape(lines[i])
	}
	if _, err := io.WriteString(e.w, strings.Join(lines, "\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}

// unsafeAt is the index of the first byte Escape changes, or -1.
func unsafeAt(s string) int {
	for i, r := range s {
		if r < utf8.RuneSelf {
			if r < 0x20 || r == 0x7f {
				return i
			}
			continue
		}
		if (r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD")) || !strconv.IsGraphic(r) {
			return i
		}
	}
	return -1
}

// MarkdownCode renders untrusted text for markdown as a code span: there
// GitHub shows every character as written (no HTML, links, autolinks,
// mentions, emphasis or headings), and Escape has made it one line. The
// fence is one backtick longer than the longest run in the text, padded
// with a space where CommonMark would otherwise trim or merge. "" stays "".
func MarkdownCode(s string) string {
	if s == "" {
		return ""
	}
	s = Escape(s)
	run, longest := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	pad := ""
	if s[0] == '`' || s[len(s)-1] == '`' || (s[0] == ' ' && s[len(s)-1] == ' ' && strings.Trim(s, " ") != "") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// MarkdownCell is MarkdownCode for a cell of a markdown table: every pipe
// is escaped as "\|", which GitHub's tables take as part of the cell even
// inside a code span, with one more backslash where the text already has an
// odd run of them before the pipe (the table reads "\\" as a pair first).
func MarkdownCell(s string) string {
	s = MarkdownCode(s)
	if !strings.Contains(s, "|") {
		return s
	}
	var b strings.Builder
	backslashes := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			backslashes++
		case '|':
			if backslashes%2 == 1 {
				b.WriteByte('\\')
			}
			b.WriteByte('\\')
			backslashes = 0
		default:
			backslashes = 0
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Error is an error's message for a terminal: each error an errors.Join
// holds on a line of its own (also under a wrapping prefix), and the text of
// each escaped, so a registry's message cannot forge lines or send control
// sequences.
func Error(err error) string {
	return strings.Join(errorLines(err), "\n")
}

func errorLines(err error) []string {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return []string{Escape(msg)}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var lines, msgs []string
		for _, e := range j.Unwrap() {
			if e != nil {
				lines = append(lines, errorLines(e)...)
				msgs = append(msgs, e.Error())
			}
		}
		if strings.Join(msgs, "\n") == msg { // errors.Join's shape, not fmt's %w %w
			return lines
		}
	}
	if inner := errors.Unwrap(err); inner != nil {
		if prefix, ok := strings.CutSuffix(msg, inner.Error()); ok {
			lines := errorLines(inner)
			lines[0] = Escape(prefix) + lines[0]
			return lines
		}
	}
	return []string{Escape(msg)}
}
