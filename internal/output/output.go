// Package output renders results the way docker does: `--format table`
// (the default), `json` (one object per line), or any Go template, through
// docker/cli's formatter, with docker's headers and truncation rules.
package output

import (
	"strings"
	"time"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/docker/go-units"
)

// Format picks the formatter.Format for a --format value as docker does:
// "" and "table" mean defaultTable, or quietFormat with -q; "json" and any
// template are used as given (-q does not override an explicit format).
func Format(source string, quiet bool, defaultTable, quietFormat string) formatter.Format {
	switch {
	case source == "" || source == formatter.TableFormatKey:
		if quiet {
			return formatter.Format(quietFormat)
		}
		return formatter.Format(defaultTable)
	case source == formatter.JSONFormatKey:
		return formatter.JSONFormat
	}
	return formatter.Format(source)
}

// Since renders how long ago t was, as docker's CREATED column does.
func Since(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	return units.HumanDuration(now.Sub(t)) + " ago"
}

// Size renders a byte count as chainctl and docker do ("23.14MB").
func Size(n int64) string {
	return units.HumanSizeWithPrecision(float64(n), 4)
}

// ShortDigest is "sha256:" plus the first 12 hex digits, as docker truncates IDs.
func ShortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return alg + ":" + hex[:12]
}
