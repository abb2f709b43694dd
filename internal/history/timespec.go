package history

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a point in time as users write it, as docker's --since
// does: RFC 3339 ("2026-01-02T15:04:05Z"), a date ("2026-01-02", midnight
// UTC), a Unix timestamp ("1767225600" or "1767225600.5"), or a duration
// back from now ("36h", "7d", "2w", "90m").
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	if d, err := ParseDuration(s); err == nil {
		return now.Add(-d).UTC(), nil
	}
	if unix.MatchString(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			sec := int64(f)
			return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: use RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or a duration (36h, 7d)", s)
}

// ParseDuration is time.ParseDuration plus whole days ("7d") and weeks ("2w").
func ParseDuration(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			return time.Duration(v * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

var unix = regexp.MustCompile(`^[0-9]{9,}(\.[0-9]+)?$`)
