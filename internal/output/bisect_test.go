package output

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/bisect"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func build(i int) bisect.Build {
	h, _ := v1.NewHash(fmt.Sprintf("sha256:%064x", i))
	return bisect.Build{Digest: h, Tested: h, UpdatedAt: time.Date(2026, 11, i, 0, 0, 0, 0, time.UTC)}
}

func TestWriteBisectRangeAndInertText(t *testing.T) {
	r := &bisect.Result{Image: "cgr.dev/chainguard/app:latest", LastGood: build(2), FirstBad: []bisect.Build{build(3), build(4)}, Skipped: []bisect.Build{build(3)},
		Steps:     []bisect.Step{{Number: 1, Build: build(3), Verdict: bisect.Skip, ExitCode: -1, Note: "timed out\x1b[2J|`x`"}},
		DiffError: "registry said: \x1b]0;pwned\x07 no | way", Runs: 1}
	var table strings.Builder
	if err := WriteBisect(&table, r, BisectOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(table.String(), "\x1b\x07") || !strings.Contains(table.String(), "Skipped builds leave 2 builds") ||
		!strings.Contains(table.String(), "Last good build 2026-11-02T00:00:00Z  sha256:000000000000  cgr.dev/chainguard/app:latest@"+build(2).Digest.String()) {
		t.Errorf("table:\n%q", table.String())
	}
	var md strings.Builder
	if err := WriteBisect(&md, r, BisectOptions{Format: "markdown"}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(md.String(), "\x1b\x07") || !strings.Contains(md.String(), `timed out\x1b[2J\|`+"`x`") || !strings.Contains(md.String(), `no \| way`) {
		t.Errorf("markdown:\n%s", md.String())
	}
	var js strings.Builder
	if err := WriteBisect(&js, r, BisectOptions{Format: "json"}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(js.String()), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["FirstBad"] != nil || len(doc["FirstBadRange"].([]any)) != 2 || doc["Diff"] != nil || len(doc["Skipped"].([]any)) != 1 {
		t.Errorf("json:\n%s", js.String())
	}
	if err := WriteBisect(&js, r, BisectOptions{Format: "yaml"}); err == nil {
		t.Error("--format yaml accepted")
	}
}
