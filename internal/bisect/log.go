package bisect

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// MaxLog bounds a --replay file: a bisection of thousands of builds logs a
// few dozen lines of about 120 bytes.
const MaxLog = 1 << 20

// LogLine is one verdict as the log keeps it:
//
//	good sha256:… exit=0 1.2s 2026-11-22T00:00:00Z
func LogLine(s Step) string {
	return fmt.Sprintf("%s %s exit=%d %s %s\n", s.Verdict, s.Build.Tested, s.ExitCode,
		s.Duration.Round(time.Millisecond), s.Build.UpdatedAt.UTC().Format(time.RFC3339))
}

// ReadLog reads the verdicts of a log written by --log (the tested digest
// of each build and its verdict); lines starting with # are comments.
func ReadLog(path string) (map[v1.Hash]Verdict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxLog+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxLog {
		return nil, fmt.Errorf("%s: larger than %d MiB, the limit for a bisect log", path, MaxLog>>20)
	}
	return parseLog(path, data)
}

func parseLog(path string, data []byte) (map[v1.Hash]Verdict, error) {
	out := map[v1.Hash]Verdict{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxLog)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return nil, fmt.Errorf("%s:%d: want VERDICT DIGEST …", path, n)
		}
		v := Verdict(fields[0])
		if v != Good && v != Bad && v != Skip {
			return nil, fmt.Errorf("%s:%d: verdict %q: want good, bad or skip", path, n, clip(fields[0]))
		}
		h, err := v1.NewHash(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: digest %q is not sha256:<64 hex>", path, n, clip(fields[1]))
		}
		out[h] = v
	}
	return out, sc.Err()
}

// clip keeps an untrusted word short in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
