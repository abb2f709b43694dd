package yamlref

import (
	"bytes"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// source maps go.yaml.in/yaml/v3's node positions (1-based lines, and
// columns counted in characters after any BOM) back to byte offsets, so a
// value can be replaced without touching a byte around it. yaml.v3 reports
// positions but cannot write a document back byte for byte: this small
// mapping is what no library does.
type source struct {
	src   []byte
	lines []int // byte offset where each line starts
	bom   int   // bytes of BOM before line 1's first character
	crlf  bool  // the file ends its lines with "\r\n"
	// marks holds, per line asked for a column past markEvery, the byte
	// offset of every markEvery-th character: without them, a minified
	// JSON file of one long line costs a walk from the line's start for
	// each of its values (quadratic: minutes for 1 MiB).
	marks map[int][]int
}

const markEvery = 64

func newSource(src []byte) *source {
	s := &source{src: src, lines: []int{0}, marks: map[int][]int{}}
	if bytes.HasPrefix(src, []byte("\xEF\xBB\xBF")) {
		s.bom = 3
	}
	for i, b := range src {
		if b == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		s.crlf = true
	}
	return s
}

// newline is the file's line ending.
func (s *source) newline() string {
	if s.crlf {
		return "\r\n"
	}
	return "\n"
}

// offset is the byte offset of the character at line, column (1-based).
func (s *source) offset(line, column int) int {
	if line < 1 || line > len(s.lines) {
		return -1
	}
	off := s.lines[line-1]
	if line == 1 {
		off += s.bom
	}
	c := 1
	if column > markEvery {
		m := s.marksOf(line, off)
		i := min((column-1)/markEvery, len(m)-1)
		off, c = m[i], i*markEvery+1
	}
	for ; c < column && off < len(s.src); c++ {
		_, w := utf8.DecodeRune(s.src[off:])
		off += w
	}
	return off
}

// marksOf returns line's marks (built on first use): m[i] is the offset
// of character i*markEvery+1; start is the line's first character.
func (s *source) marksOf(line, start int) []int {
	if m, ok := s.marks[line]; ok {
		return m
	}
	end := len(s.src)
	if line < len(s.lines) {
		end = s.lines[line]
	}
	m := []int{start}
	for off, c := start, 1; off < end; c++ {
		_, w := utf8.DecodeRune(s.src[off:])
		if off += w; c%markEvery == 0 {
			m = append(m, off)
		}
	}
	s.marks[line] = m
	return m
}

// lineEnd is the offset of the end of the line holding off (before "\r\n").
func (s *source) lineEnd(off int) int {
	i := bytes.IndexByte(s.src[off:], '\n')
	if i < 0 {
		return len(s.src)
	}
	end := off + i
	if end > 0 && s.src[end-1] == '\r' {
		end--
	}
	return end
}

// span finds the bytes of scalar n's value, without quotes: [start, end).
// reason says why a scalar cannot be edited in place (a block scalar, a
// multi-line or escaped value), and then start is -1.
func (s *source) span(n *yaml.Node) (start, end int, reason string) {
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return -1, -1, "block scalar"
	}
	off := s.offset(n.Line, n.Column)
	if off < 0 {
		return -1, -1, "position not found"
	}
	// The node's position may be its anchor's or tag's: skip them.
	for off < len(s.src) && (s.src[off] == '&' || s.src[off] == '!') {
		for off < len(s.src) && !isSpace(s.src[off]) {
			off++
		}
		for off < len(s.src) && (s.src[off] == ' ' || s.src[off] == '\t') {
			off++
		}
	}
	v := []byte(n.Value)
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0, n.Style&yaml.SingleQuotedStyle != 0:
		q := byte('"')
		if n.Style&yaml.SingleQuotedStyle != 0 {
			q = '\''
		}
		end = off + 1 + len(v)
		if off >= len(s.src) || s.src[off] != q || end >= len(s.src) || !bytes.Equal(s.src[off+1:end], v) || s.src[end] != q {
			return -1, -1, "quoted value with escapes or line breaks"
		}
		return off + 1, end, ""
	}
	end = off + len(v)
	if end > len(s.src) || !bytes.Equal(s.src[off:end], v) {
		return -1, -1, "multi-line value"
	}
	return off, end, ""
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// normaliseJSON makes JSON with comments and trailing commas (VS Code's
// JSONC) and tab indentation readable by a YAML parser without moving a
// byte: comments, trailing commas and tabs outside strings become spaces,
// line breaks stay. Positions in the result are positions in src.
func normaliseJSON(src []byte) []byte {
	out := bytes.Clone(src)
	inString, escaped := false, false
	lastComma := -1
	for i := 0; i < len(out); i++ {
		c := out[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch {
		case c == '"':
			inString, lastComma = true, -1
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				if out[i] != '\r' {
					out[i] = ' '
				}
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			j := bytes.Index(out[i+2:], []byte("*/"))
			end := len(out)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			for ; i < end; i++ {
				if out[i] != '\n' && out[i] != '\r' {
					out[i] = ' '
				}
			}
			i--
		case c == ',':
			lastComma = i
		case c == '}' || c == ']':
			if lastComma >= 0 {
				out[lastComma] = ' '
			}
			lastComma = -1
		case c == '\t':
			out[i] = ' '
		case c == ' ' || c == '\n' || c == '\r':
		default:
			lastComma = -1
		}
	}
	return out
}
