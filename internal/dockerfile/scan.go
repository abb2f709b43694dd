package dockerfile

import (
	"bytes"
	"strings"
)

// scanner maps buildkit's instructions back to byte offsets in the source.
// buildkit reports only line numbers, so the logical line of an instruction
// is rebuilt here exactly as buildkit's parser joins it (BOM dropped,
// continuation characters removed, comment and empty lines inside a
// continuation skipped), remembering where every byte came from.
type scanner struct {
	src    []byte
	escape byte
	lines  [][2]int // [start, end) of each line, without "\r\n"
}

func newScanner(src []byte, escape rune) *scanner {
	s := &scanner{src: src, escape: byte(escape)}
	start := 0
	for i := 0; i <= len(src); i++ {
		if i == len(src) || src[i] == '\n' {
			end := i
			if end > start && src[end-1] == '\r' {
				end--
			}
			s.lines = append(s.lines, [2]int{start, end})
			start = i + 1
		}
	}
	return s
}

// word is one whitespace-delimited word of a logical line.
type word struct {
	text       string
	start, end int // source span of the first and last byte (+1)
	line       int
	contiguous bool // the word's bytes are adjacent in the source
}

// logical returns the instruction starting at line (1-based) as buildkit
// sees it, with the source offset of each byte.
func (s *scanner) logical(line int) (string, []int) {
	var text []byte
	var offs []int
	add := func(from, to int) {
		for i := from; i < to; i++ {
			text = append(text, s.src[i])
			offs = append(offs, i)
		}
	}
	first := true
	for l := line - 1; l < len(s.lines); l++ {
		start, end := s.lines[l][0], s.lines[l][1]
		if l == 0 && bytes.HasPrefix(s.src[start:end], []byte("\xEF\xBB\xBF")) {
			start += 3
		}
		raw := s.src[start:end]
		if first {
			for start < end && isSpace(s.src[start]) {
				start++
			}
		} else {
			trimmed := bytes.TrimLeft(raw, " \t\v\f")
			if len(trimmed) == 0 || trimmed[0] == '#' {
				continue // buildkit skips these inside a continuation
			}
		}
		first = false
		cut, continues := s.continuation(start, end)
		add(start, cut)
		if !continues {
			break
		}
	}
	return string(text), offs
}

// continuation reports whether src[start:end] ends with the escape
// character (plus blanks), and where the kept text ends.
func (s *scanner) continuation(start, end int) (int, bool) {
	e := end
	for e > start && (s.src[e-1] == ' ' || s.src[e-1] == '\t') {
		e--
	}
	if e == start || s.src[e-1] != s.escape {
		return end, false
	}
	// "\\\\" at the end is an escaped escape, not a continuation (buildkit's
	// regex requires the character before it not to be the escape).
	if e-2 >= start && s.src[e-2] == s.escape {
		return end, false
	}
	return e - 1, true
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\v' || b == '\f' || b == '\r' }

// words splits the instruction at line into words with their source spans.
func (s *scanner) words(line int) []word {
	text, offs := s.logical(line)
	var out []word
	i := 0
	for i < len(text) {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i == len(text) {
			break
		}
		j := i
		for j < len(text) && !isSpace(text[j]) {
			j++
		}
		w := word{text: text[i:j], start: offs[i], end: offs[j-1] + 1, contiguous: offs[j-1]-offs[i] == j-1-i}
		w.line = s.lineOf(w.start)
		out = append(out, w)
		i = j
	}
	return out
}

func (s *scanner) lineOf(off int) int {
	for i, l := range s.lines {
		if off <= l[1] {
			return i + 1
		}
	}
	return len(s.lines)
}

// instructionWord returns the first argument word after the keyword and any
// flags, and the texts of the words after it.
func (s *scanner) instructionWord(line int, isFlag func(string) bool) (word, []string, bool) {
	ws := s.words(line)
	if len(ws) < 2 {
		return word{}, nil, false
	}
	for i, w := range ws[1:] {
		if isFlag(w.text) {
			continue
		}
		var rest []string
		for _, r := range ws[i+2:] {
			rest = append(rest, r.text)
		}
		return w, rest, true
	}
	return word{}, nil, false
}

// flagWords returns the "--flag" words that follow the keyword.
func (s *scanner) flagWords(line int) []word {
	ws := s.words(line)
	var out []word
	for _, w := range ws[min(1, len(ws)):] {
		if !strings.HasPrefix(w.text, "--") {
			break
		}
		out = append(out, w)
	}
	return out
}

// argDef is one NAME=VALUE of an ARG instruction.
type argDef struct {
	name       string
	value      string
	start, end int // source span of value (inside any quotes)
	line       int
}

func (s *scanner) argDefs(line int) []*argDef {
	var out []*argDef
	for _, w := range s.words(line)[1:] {
		name, val, ok := strings.Cut(w.text, "=")
		if !ok {
			out = append(out, &argDef{name: name, line: w.line})
			continue
		}
		if !w.contiguous {
			continue
		}
		start := w.start + len(name) + 1
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
			start++
		} else if strings.ContainsAny(val, `"'`) {
			continue // quoting we do not follow (e.g. values with spaces)
		}
		out = append(out, &argDef{name: name, value: val, start: start, end: start + len(val), line: w.line})
	}
	return out
}
