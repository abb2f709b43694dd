package yamlref

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestSourceOffset: offsets on long lines (found from the marks) are
// those a walk from the line's start finds, with multi-byte characters,
// a BOM and columns past the line's end.
func TestSourceOffset(t *testing.T) {
	long := strings.Repeat("aé日😀", 100) // 400 characters of 1 to 4 bytes
	src := []byte("\xEF\xBB\xBF" + long + "\nshort\n" + long + "\r\nx")
	s := newSource(src)
	walk := func(line, column int) int {
		off := s.lines[line-1]
		if line == 1 {
			off += s.bom
		}
		for c := 1; c < column && off < len(src); c++ {
			_, w := utf8.DecodeRune(src[off:])
			off += w
		}
		return off
	}
	for _, line := range []int{1, 2, 3, 4} {
		for column := 1; column <= 420; column++ {
			if got, want := s.offset(line, column), walk(line, column); got != want {
				t.Fatalf("offset(%d, %d) = %d, want %d", line, column, got, want)
			}
		}
	}
}
