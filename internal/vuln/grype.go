package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
)

// ErrNoGrype means grype is not installed.
var ErrNoGrype = errors.New("grype not found on PATH (install it from https://github.com/anchore/grype, or use --vulns secdb)")

// Grype scans an image reference with grype from PATH, as chainctl does.
func Grype(ctx context.Context, ref string) ([]Finding, error) {
	bin, err := exec.LookPath("grype")
	if err != nil {
		return nil, ErrNoGrype
	}
	cmd := exec.CommandContext(ctx, bin, "registry:"+ref, "-o", "json", "-q")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("grype %s: %v: %s", ref, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parseGrype(out.Bytes())
}

func parseGrype(data []byte) ([]Finding, error) {
	var doc struct {
		Matches []struct {
			Vulnerability struct {
				ID       string `json:"id"`
				Severity string `json:"severity"`
				Fix      struct {
					Versions []string `json:"versions"`
				} `json:"fix"`
			} `json:"vulnerability"`
			Artifact struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				PURL    string `json:"purl"`
			} `json:"artifact"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("grype output: %w", err)
	}
	var out []Finding
	for _, m := range doc.Matches {
		f := Finding{ID: m.Vulnerability.ID, Package: m.Artifact.Name, Origin: m.Artifact.Name, Version: m.Artifact.Version,
			Severity: m.Vulnerability.Severity, Reference: m.Artifact.PURL}
		if len(m.Vulnerability.Fix.Versions) > 0 {
			f.FixedIn = m.Vulnerability.Fix.Versions[0]
		}
		out = append(out, f)
	}
	return out, nil
}
