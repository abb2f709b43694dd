package bisect

import (
	"slices"
	"testing"
)

// search runs a Search over n candidates where candidates from firstBad on
// are bad and those in skip cannot be tested; it returns the runs, the last
// good and the first-bad range.
func search(n, firstBad int, skip []int) (runs []int, lastGood int, bad []int) {
	s := NewSearch(n)
	for {
		i, ok := s.Next()
		if !ok {
			break
		}
		if len(runs) > n {
			panic("search does not end")
		}
		runs = append(runs, i)
		switch {
		case slices.Contains(skip, i):
			s.Mark(i, Skip)
		case i >= firstBad:
			s.Mark(i, Bad)
		default:
			s.Mark(i, Good)
		}
	}
	lastGood, bad = s.Answer()
	return runs, lastGood, bad
}

func TestSearchFindsEveryFirstBadWithinLog2(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7, 8, 20, 40, 63, 64, 100} {
		for firstBad := 0; firstBad <= n; firstBad++ {
			runs, lastGood, bad := search(n, firstBad, nil)
			if len(bad) != 1 || bad[0] != firstBad || lastGood != firstBad-1 {
				t.Fatalf("n=%d firstBad=%d: got last good %d, first bad %v", n, firstBad, lastGood, bad)
			}
			if len(runs) > MaxRuns(n) {
				t.Fatalf("n=%d firstBad=%d: %d runs %v, more than ⌈log2(n+1)⌉ = %d", n, firstBad, len(runs), runs, MaxRuns(n))
			}
		}
	}
}

func TestSearchWithSkips(t *testing.T) {
	for _, tc := range []struct {
		name        string
		n, firstBad int
		skip        []int
		lastGood    int
		bad         []int
	}{
		{"skip the middle, answer still exact", 7, 5, []int{3}, 4, []int{5}},
		{"first bad skipped: range of it and the next bad", 7, 3, []int{3}, 2, []int{3, 4}},
		{"every candidate skipped: all of them and the bad end", 3, 1, []int{0, 1, 2}, -1, []int{0, 1, 2, 3}},
		{"skips around the answer", 10, 5, []int{4, 5}, 3, []int{4, 5, 6}},
		{"last candidate skipped, bad end is first bad", 4, 4, []int{3}, 2, []int{3, 4}},
		{"first candidate skipped, it is the first bad", 4, 0, []int{0}, -1, []int{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs, lastGood, bad := search(tc.n, tc.firstBad, tc.skip)
			if lastGood != tc.lastGood || !slices.Equal(bad, tc.bad) {
				t.Errorf("last good %d, first bad %v (runs %v); want %d, %v", lastGood, bad, runs, tc.lastGood, tc.bad)
			}
			seen := map[int]bool{}
			for _, r := range runs {
				if seen[r] {
					t.Errorf("candidate %d tried twice: %v", r, runs)
				}
				seen[r] = true
			}
		})
	}
}

func TestOrderIsTheSearchTree(t *testing.T) {
	if got := Order(7); !slices.Equal(got, []int{3, 2, 3, 1, 3, 2, 3}) {
		t.Errorf("Order(7) = %v", got)
	}
	for _, n := range []int{1, 2, 5, 64} {
		got := Order(n)
		first := slices.Index(got, 1)
		s := NewSearch(n)
		if i, _ := s.Next(); i != first {
			t.Errorf("n=%d: search starts at %d, Order says %d", n, i, first)
		}
		if slices.Max(got) != MaxRuns(n) || slices.Contains(got, 0) {
			t.Errorf("Order(%d) = %v, max %d want %d", n, got, slices.Max(got), MaxRuns(n))
		}
	}
	for n, want := range map[int]int{0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 63: 6, 64: 7} {
		if MaxRuns(n) != want {
			t.Errorf("MaxRuns(%d) = %d, want %d", n, MaxRuns(n), want)
		}
	}
}
