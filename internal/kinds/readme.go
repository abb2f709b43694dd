package kinds

import (
	"strings"
)

// FoundBy says, for the README's table, how a kind is found.
func (k *Kind) FoundBy() string {
	var b strings.Builder
	for i, g := range k.Globs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + g + "`")
	}
	if len(k.Beside) > 0 {
		b.WriteString(", beside `" + strings.Join(k.Beside, "` or `") + "` (or named)")
	}
	if k.Sniff != nil {
		b.WriteString(", when its content says so")
	}
	return b.String()
}

// TableRow is the kind's row of the README's table of kinds.
func (k *Kind) TableRow() string {
	left := k.LeftAlone
	if left == "" {
		left = "—"
	}
	return "| `" + string(k.Name()) + "` | " + k.FoundBy() + " | " + k.Pinned + " | " + left + " |"
}
