package history

import (
	"strings"
	"testing"
)

// FuzzDecode: whatever a registry answers, decode returns entries with valid
// digests and times, or an error; it never panics.
func FuzzDecode(f *testing.F) {
	d := "sha256:" + strings.Repeat("a", 64)
	for _, seed := range []string{
		`{"history":[{"updateTimestamp":"2026-01-01T00:00:00Z","digest":"` + d + `"}]}`,
		`{"history":[{"UpdateTimestamp":"2026-01-01T00:00:00.123Z","Digest":"` + d + `"}]}`,
		`{"history":[]}`, `{"history":null}`, `{}`, `[]`, `{"history":[{}]}`, `<html>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := decode(body)
		if err != nil {
			if entries != nil {
				t.Fatal("entries with an error")
			}
			return
		}
		for _, e := range entries {
			if e.Digest.Algorithm == "" || e.Digest.Hex == "" || e.UpdatedAt.IsZero() && !strings.Contains(string(body), "0001-01-01") {
				t.Fatalf("bad entry %+v from %q", e, body)
			}
			if e.UpdatedAt.Location().String() != "UTC" {
				t.Fatalf("time not in UTC: %v", e.UpdatedAt)
			}
		}
	})
}
