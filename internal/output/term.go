package output

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/docker/cli/cli/streams"
	"github.com/morikuni/aec"
)

// Terminal is what the output streams are: whether stdout and stderr are
// terminals, whether to colour (never with NO_COLOR or off a terminal), and
// stdout's width. One value is made per run and passed to whatever draws.
type Terminal struct {
	TTY    bool // stdout is a terminal
	ErrTTY bool // stderr is a terminal (progress goes there)
	Color  bool
	Width  int // columns of stdout; 0 when unknown
}

// NewTerminal describes docker's output streams.
func NewTerminal(out *streams.Out, errOut *streams.Out) Terminal {
	t := Terminal{TTY: out.IsTerminal(), ErrTTY: errOut.IsTerminal()}
	t.Color = t.TTY && os.Getenv("NO_COLOR") == ""
	if t.TTY {
		_, w := out.GetTtySize()
		t.Width = int(w)
	}
	return t
}

// paint applies an ANSI style when the terminal takes colour.
func (t Terminal) paint(a aec.ANSI, s string) string {
	if !t.Color {
		return s
	}
	return a.Apply(s)
}

// Progress is a one-line progress report on stderr, each line replacing the
// last; it draws only on a terminal. Done clears the line.
type Progress struct {
	mu  sync.Mutex
	w   io.Writer
	on  bool
	any bool
}

// NewProgress returns a Progress drawing on w when t says stderr is a terminal.
func NewProgress(t Terminal, w io.Writer) *Progress { return &Progress{w: w, on: t.ErrTTY} }

// Printf replaces the progress line (its text escaped).
func (p *Progress) Printf(format string, args ...any) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.any = true
	fmt.Fprint(p.w, "\r"+aec.EraseLine(aec.EraseModes.Tail).String()+Escape(fmt.Sprintf(format, args...)))
}

// Done clears the progress line, if one was drawn.
func (p *Progress) Done() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.any {
		fmt.Fprint(p.w, "\r"+aec.EraseLine(aec.EraseModes.Tail).String())
	}
}
