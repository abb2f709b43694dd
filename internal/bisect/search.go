package bisect

// Verdict is what a run of the command says about a build.
type Verdict string

// Verdicts, as git bisect run reads exit statuses.
const (
	Good Verdict = "good"
	Bad  Verdict = "bad"
	Skip Verdict = "skip"
)

// Search is git bisect's search over candidates 0..N-1, oldest first,
// between a good build (index -1) and a bad one (index N). It is a pure
// state machine: Next says which candidate to test, Mark records the verdict.
type Search struct {
	n       int
	lo, hi  int // last known good, first known bad
	skipped map[int]bool
}

// NewSearch starts a search over n candidates.
func NewSearch(n int) *Search {
	return &Search{n: n, lo: -1, hi: n, skipped: map[int]bool{}}
}

// Remaining is the number of candidates still between the last known good
// and the first known bad build, skipped ones included.
func (s *Search) Remaining() int { return s.hi - s.lo - 1 }

// Next returns the candidate to test, or false when the search is over.
// It tries the middle of the range; when that build was skipped it tries
// the nearest untested neighbour, alternating sides (git picks a nearby
// commit too, so the search widens around skips).
func (s *Search) Next() (int, bool) {
	mid := s.lo + (s.hi-s.lo)/2
	for d := 0; mid-d > s.lo || mid+d < s.hi; d++ {
		for _, i := range []int{mid + d, mid - d} {
			if i > s.lo && i < s.hi && !s.skipped[i] {
				return i, true
			}
		}
	}
	return 0, false
}

// Mark records the verdict on candidate i.
func (s *Search) Mark(i int, v Verdict) {
	switch v {
	case Good:
		if i > s.lo {
			s.lo = i
		}
	case Bad:
		if i < s.hi {
			s.hi = i
		}
	default:
		s.skipped[i] = true
	}
}

// Answer is the outcome once Next reports the end: the last good
// candidate (-1: the good end), and the candidates the first bad build may
// be, oldest first: one when nothing in the way was skipped, else the
// skipped ones left and the first known bad (N: the bad end).
func (s *Search) Answer() (lastGood int, firstBad []int) {
	for i := s.lo + 1; i < s.hi; i++ {
		firstBad = append(firstBad, i)
	}
	return s.lo, append(firstBad, s.hi)
}

// Order is the step at which the search would first try each candidate if
// nothing were skipped (1 for the middle one, 2 for the quarters, …): the
// order of a dry run.
func Order(n int) []int {
	out := make([]int, n)
	var walk func(lo, hi, depth int)
	walk = func(lo, hi, depth int) {
		if hi-lo <= 1 {
			return
		}
		mid := lo + (hi-lo)/2
		out[mid] = depth
		walk(lo, mid, depth+1)
		walk(mid, hi, depth+1)
	}
	walk(-1, n, 1)
	return out
}

// MaxRuns is ⌈log2(n+1)⌉, the most runs a search over n candidates takes
// when nothing is skipped.
func MaxRuns(n int) int {
	r := 0
	for (1 << r) < n+1 {
		r++
	}
	return r
}
