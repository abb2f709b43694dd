package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker-cghistory/docker-cghistory/internal/policy"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command/formatter"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Hostile text as a registry, an image or a repository can carry it.
const (
	retitle = "latest\x1b]0;PWNED\a\x1b[2J"          // retitles the terminal, clears the screen
	osc52   = "x\x1b]52;c;cHduZWQ=\a"                // writes the clipboard
	cr      = "ok\rFAKE"                             // overwrites the line
	forged  = "pkg\n| ➕ | forged | | 6.6.6 |"        // forges a row (table and markdown)
	bidi    = "evil\u202egnp.exe"                    // reads backwards
	mdHTML  = "<img src=x onerror=alert(1)>"         // HTML in a pull request
	mdLink  = "[click](https://evil.example) @admin" // a link, a mention
	mdMisc  = "**bold** `tick` a|b # head _x_"
)

var hostile = []string{retitle, osc52, cr, forged, bidi, mdHTML, mdLink, mdMisc}

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"latest", "latest"},
		{"3.4.0-r1 café 日本語 ✅ \uFFFD C:\\path", "3.4.0-r1 café 日本語 ✅ \uFFFD C:\\path"},
		{retitle, `latest\x1b]0;PWNED\a\x1b[2J`},
		{osc52, `x\x1b]52;c;cHduZWQ=\a`},
		{cr, `ok\rFAKE`},
		{"a\nb\tc\x00d\x7fe", `a\nb\tc\x00d\x7fe`},
		{bidi, `evil\u202egnp.exe`},
		{"\u2066x\u2069\u200e\u061c", `\u2066x\u2069\u200e\u061c`},
		{"c1\u009b31m", `c1\u009b31m`}, // the one-byte CSI
		{"line\u2028sep", `line\u2028sep`},
		{"bad\xffutf8\xc3", `bad\xffutf8\xc3`},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEscapeLines(t *testing.T) {
	var b strings.Builder
	w := EscapeLines(&b)
	for _, in := range []string{"DEBU[http] GET /v2/ 200 (1ms)\n", "WARNING: helper said \x1b]0;pwned\a\u202e; continuing\n", "a\nb\rc\n"} {
		if n, err := io.WriteString(w, in); n != len(in) || err != nil {
			t.Errorf("Write(%q) = %d, %v; want %d, nil", in, n, err, len(in))
		}
	}
	want := "DEBU[http] GET /v2/ 200 (1ms)\nWARNING: helper said \\x1b]0;pwned\\a\\u202e; continuing\na\nb\\rc\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
}

// The --dry-run diff of a file holding terminal controls: escaped on a
// terminal (tabs and line breaks kept), its bytes kept when piped.
func TestDryRunDiffOnATerminal(t *testing.T) {
	old := "FROM a:1\n\tRUN echo \x1b]0;PWNED\a\u202e\n"
	plan := &pin.Plan{Files: []*pin.FilePlan{{Path: "Dockerfile", Old: []byte(old), New: []byte(strings.Replace(old, "a:1", "a:1@sha256:x", 1)),
		Changes: []pin.Change{{File: "Dockerfile", Line: 1}}}}}
	var tty, piped, errOut bytes.Buffer
	if err := WritePin(&tty, &errOut, "", PinReport{Plan: plan, Mode: PinDryRun, TTY: true}); err != nil {
		t.Fatal(err)
	}
	if err := WritePin(&piped, &errOut, "", PinReport{Plan: plan, Mode: PinDryRun}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tty.String(), " \tRUN echo \\x1b]0;PWNED\\a\\u202e\n") || strings.ContainsAny(tty.String(), "\x1b\a\u202e") {
		t.Errorf("on a terminal:\n%s", tty.String())
	}
	if piped.String() != plan.Diff() || !strings.Contains(piped.String(), "\x1b]0;PWNED") {
		t.Errorf("piped, the diff is not the plan's:\n%q", piped.String())
	}
}

func TestMarkdownCode(t *testing.T) {
	for _, c := range []struct{ in, code, cell string }{
		{"", "", ""},
		{"openssl", "`openssl`", "`openssl`"},
		{"a`b", "``a`b``", "``a`b``"},
		{"`x`", "`` `x` ``", "`` `x` ``"},
		{" x ", "`  x  `", "`  x  `"},
		{"a|b", "`a|b`", "`a\\|b`"},
		{`a\|b`, "`a\\|b`", "`a\\\\\\|b`"},
		{`a\\|b`, "`a\\\\|b`", "`a\\\\\\|b`"},
		{forged, "`pkg\\n| ➕ | forged | | 6.6.6 |`", "`pkg\\n\\| ➕ \\| forged \\| \\| 6.6.6 \\|`"},
	} {
		if got := MarkdownCode(c.in); got != c.code {
			t.Errorf("MarkdownCode(%q) = %q, want %q", c.in, got, c.code)
		}
		if got := MarkdownCell(c.in); got != c.cell {
			t.Errorf("MarkdownCell(%q) = %q, want %q", c.in, got, c.cell)
		}
		if cells := gfmCells("| " + MarkdownCell(c.in) + " | end |"); len(cells) != 2 {
			t.Errorf("MarkdownCell(%q) splits the row: %q", c.in, cells)
		}
	}
}

func TestError(t *testing.T) {
	regErr := errors.New("registry said: " + retitle)
	for _, c := range []struct {
		err  error
		want string
	}{
		{regErr, `registry said: latest\x1b]0;PWNED\a\x1b[2J`},
		{errors.New("a\nforged: ok"), `a\nforged: ok`},
		{errors.Join(errors.New("f1: "+bidi), errors.New("f2: "+cr)), "f1: evil\\u202egnp.exe\nf2: ok\\rFAKE"},
		{fmt.Errorf("timed out: %w", errors.Join(errors.New("one"), errors.New("two\x1b[2J"))), "timed out: one\ntwo\\x1b[2J"},
		{fmt.Errorf("%w\n%w", errors.New("x"), errors.New("y")), "x\ny"},
		{fmt.Errorf("%w and %w", errors.New("x\ny"), errors.New("z")), `x\ny and z`},
		{cli.StatusError{StatusCode: 2, Status: "cannot compare: " + osc52}, `cannot compare: x\x1b]52;c;cHduZWQ=\a`},
	} {
		if got := Error(c.err); got != c.want {
			t.Errorf("Error(%q) = %q, want %q", c.err, got, c.want)
		}
	}
}

// assertTerminalSafe fails on any character a terminal would act on, other
// than the newlines that end lines, and checks the line count.
func assertTerminalSafe(t *testing.T, what, out string, lines int) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && !strconv.IsGraphic(r) {
			t.Errorf("%s prints %q raw:\n%s", what, r, out)
			break
		}
	}
	if got := strings.Count(out, "\n"); lines >= 0 && got != lines {
		t.Errorf("%s has %d lines, want %d:\n%s", what, got, lines, out)
	}
}

// gfmCells splits a markdown table row as GitHub's table extension does:
// a backslash and an ASCII punctuation character are one unit, so only an
// unescaped pipe ends a cell.
func gfmCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", rune(line[i+1])):
			cur.WriteString(line[i : i+2])
			i++
		case line[i] == '|':
			cells = append(cells, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		cells = append(cells, cur.String())
	}
	return cells
}

// outsideCode is markdown text with its code spans removed (CommonMark: a
// run of n backticks up to the next run of exactly n).
func outsideCode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		end := -1
		for j := i + n; j < len(s); {
			if s[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(s) && s[j+m] == '`' {
				m++
			}
			if m == n {
				end = j + m
				break
			}
			j += m
		}
		if end < 0 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		i = end
	}
	return b.String()
}

// assertMarkdownSafe checks every table row has the header's cell count and
// no hostile text is outside a code span.
func assertMarkdownSafe(t *testing.T, what, md string) {
	t.Helper()
	assertTerminalSafe(t, what, md, -1)
	header := 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			header = 0
			continue
		}
		n := len(gfmCells(line))
		if header == 0 {
			header = n
		} else if n != header {
			t.Errorf("%s: row %q has %d cells, the table %d", what, line, n, header)
		}
		for _, c := range gfmCells(line) {
			c = strings.ReplaceAll(c, `\|`, "|") // the table's own unescaping
			if rest := outsideCode(c); strings.ContainsAny(rest, "<>[]*_@#`\\") {
				t.Errorf("%s: cell %q has markdown outside code: %q", what, c, rest)
			}
		}
	}
	rest := outsideCode(md)
	for _, bad := range []string{"PWNED", "<img", "](", "@admin", "**bold**", "_x_", "FAKE", "forged", "gnp"} {
		if strings.Contains(rest, bad) {
			t.Errorf("%s: %q outside a code span:\n%s", what, bad, md)
		}
	}
}

func hostileResult() *imagediff.Result {
	h := func(i int) string { return hostile[i%len(hostile)] }
	inv := &inventory.Inventory{Source: "sbom", VerifiedBy: "https://id.example/" + bidi}
	r := &imagediff.Result{
		From:         imagediff.Image{Ref: "cgr.dev/x@sha256:aa", Platform: v1.Platform{OS: "linux", Architecture: "amd64" + osc52}, Inventory: inv},
		To:           imagediff.Image{Ref: "cgr.dev/x@sha256:bb", Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Inventory: inv},
		VulnsChecked: true,
		Warnings:     []string{"SBOM did not verify: " + retitle},
	}
	for i := range hostile {
		r.Added = append(r.Added, inventory.Package{Name: h(i), Version: h(i + 1), PURL: "pkg:apk/" + h(i)})
		r.Removed = append(r.Removed, inventory.Package{Name: "rm" + h(i), Version: h(i + 2)})
		r.Changed = append(r.Changed, imagediff.Change{Previous: inventory.Package{Name: "ch" + h(i), Version: h(i + 3)},
			Current: inventory.Package{Name: "ch" + h(i), Version: h(i + 4)}, Upgrade: i%2 == 0})
		r.VulnsAdded = append(r.VulnsAdded, vuln.Finding{ID: "CVE-" + h(i), Package: h(i + 5), Version: h(i + 6), FixedIn: h(i + 7)})
		r.VulnsRemoved = append(r.VulnsRemoved, vuln.Finding{ID: "GHSA-" + h(i), Package: h(i + 1), Version: h(i + 2)})
		r.Config = append(r.Config, imagediff.ConfigChange{Field: "Label " + h(i), Previous: h(i + 3), Current: h(i + 4)})
	}
	return r
}

func TestDiffRendersHostileTextSafely(t *testing.T) {
	r := hostileResult()
	var table bytes.Buffer
	if err := WriteDiff(&table, r, DiffOptions{Format: "table"}); err != nil {
		t.Fatal(err)
	}
	// 3 header lines, 4 section titles with blank lines, 3×8 packages,
	// 2×8 vulnerabilities, 8 config changes, a warning with its blank line.
	assertTerminalSafe(t, "cgdiff table", table.String(), 3+2*3+3*8+2*8+8+2)
	if !strings.Contains(table.String(), `latest\x1b]0;PWNED\a\x1b[2J`) || !strings.Contains(table.String(), `evil\u202egnp.exe`) {
		t.Errorf("table does not show the escaped text:\n%s", table.String())
	}

	var tmpl bytes.Buffer
	if err := WriteDiff(&tmpl, r, DiffOptions{Format: "{{range .Packages.Added}}{{.Name}}={{.Version}};{{end}}{{.From.Platform}}"}); err != nil {
		t.Fatal(err)
	}
	assertTerminalSafe(t, "cgdiff template", tmpl.String(), 1)

	var md bytes.Buffer
	if err := WriteDiff(&md, r, DiffOptions{Format: "markdown"}); err != nil {
		t.Fatal(err)
	}
	assertMarkdownSafe(t, "cgdiff markdown", md.String())

	var js bytes.Buffer
	if err := WriteDiff(&js, r, DiffOptions{Format: "json"}); err != nil {
		t.Fatal(err)
	}
	var doc DiffDocument
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for i, p := range doc.Packages.Added {
		if p.Name != r.Added[i].Name || p.Version != r.Added[i].Version {
			t.Errorf("json package %d = %q %q, want the raw %q %q", i, p.Name, p.Version, r.Added[i].Name, r.Added[i].Version)
		}
	}
	if doc.Warnings[0] != r.Warnings[0] || doc.From.Platform != "linux/amd64"+osc52 || doc.Config["Label "+retitle].Previous != r.Config[0].Previous {
		t.Errorf("json not exact: %+v", doc)
	}
}

func TestHistoryAndTagsRenderHostileTextSafely(t *testing.T) {
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	entries := []history.Entry{{Digest: d, UpdatedAt: now.Add(-time.Hour), Platforms: []registry.Platform{{Platform: v1.Platform{OS: "linux", Architecture: forged}, Digest: d}}}}
	changes := []imagediff.Explanation{{Result: hostileResult()}}
	for _, f := range []string{"", "{{.Platforms}} {{.Changes}}"} {
		var out bytes.Buffer
		err := WriteHistory(HistoryContext{Context: formatter.Context{Output: &out, Format: Format(f, false, HistoryChangesTableFormat, "")},
			Image: "cgr.dev/x", Tag: "latest", Now: now, Changes: changes, Platforms: true}, entries)
		if err != nil {
			t.Fatal(err)
		}
		lines := 2
		if f != "" {
			lines = 1
		}
		assertTerminalSafe(t, "history "+f, out.String(), lines)
	}
	var js bytes.Buffer
	if err := WriteHistory(HistoryContext{Context: formatter.Context{Output: &js, Format: formatter.JSONFormat}, Image: "cgr.dev/x", Tag: "latest",
		Now: now, Changes: changes, Platforms: true}, entries); err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Changes   string
		Platforms []struct{ Arch string }
	}
	if err := json.Unmarshal(js.Bytes(), &obj); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(obj.Changes, retitle) || obj.Platforms[0].Arch != forged {
		t.Errorf("history json not exact: %+v", obj)
	}

	var tags bytes.Buffer
	if err := WriteTags(TagsContext{Context: formatter.Context{Output: &tags, Format: Format("", false, TagsTableFormat, TagsQuietFormat)}, Image: "cgr.dev/x"}, hostile); err != nil {
		t.Fatal(err)
	}
	assertTerminalSafe(t, "tags table", tags.String(), 1+len(hostile))
	if !strings.Contains(tags.String(), `latest\x1b]0;PWNED\a\x1b[2J`+"\n") {
		t.Errorf("tags table lacks the escaped tag:\n%s", tags.String())
	}
	tags.Reset()
	if err := WriteTags(TagsContext{Context: formatter.Context{Output: &tags, Format: formatter.JSONFormat}, Image: "cgr.dev/x"}, hostile); err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(tags.String(), "\n"), "\n") {
		var o map[string]string
		if err := json.Unmarshal([]byte(line), &o); err != nil || o["Tag"] != hostile[i] || o["Reference"] != "cgr.dev/x:"+hostile[i] {
			t.Errorf("tags json line %d = %q (%v), want the raw %q", i, line, err, hostile[i])
		}
	}

	var acc bytes.Buffer
	if err := WriteAccess(formatter.Context{Output: &acc, Format: Format("", false, AccessTableFormat, "")}, now,
		[]registry.Access{{Host: "r.example", Repo: "x", Source: "auths", Username: bidi, Detail: "denied (registry said: " + retitle + ")"}}); err != nil {
		t.Fatal(err)
	}
	assertTerminalSafe(t, "auth table", acc.String(), 2)
}

func TestPinAndOutdatedRenderHostileTextSafely(t *testing.T) {
	old := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	next := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}
	var changes []pin.Change
	var lags []policy.Lag
	for _, h := range hostile {
		img := ref.Image{Name: "cgr.dev/x:" + h, Digest: old}
		changes = append(changes, pin.Change{File: "Dockerfile" + h, Line: 1, Kind: "FROM", FileKind: "dockerfile", Image: img,
			Old: img.Name + "@" + old.String(), New: img.Name + "@" + next.String(), Digest: next, Why: "fixes " + h})
		lags = append(lags, policy.Lag{Reference: pin.Reference{File: "f" + h, Found: ref.Found{Line: 2, Image: img}}, Current: next,
			Behind: 1, Packages: 1, Fixed: []string{"CVE-" + h}, Note: "no history API: " + h})
	}
	explained := make([]imagediff.Explanation, len(changes))
	for i := range explained {
		explained[i] = imagediff.Explanation{Result: hostileResult()}
	}
	explained[1] = imagediff.Explanation{Err: errors.New("registry said: " + osc52)}
	plan := &pin.Plan{Files: []*pin.FilePlan{{Path: "Dockerfile", Changes: changes}}, Notes: []pin.Note{{File: "compose" + cr, Line: 3, Ref: forged, Reason: "unknown: " + retitle}}}

	for _, format := range []string{"", "table {{.Location}}\t{{.Old}}\t{{.Why}}\t{{.Explanation}}"} {
		var out, errOut bytes.Buffer
		if err := WritePin(&out, &errOut, format, PinReport{Plan: plan, Mode: PinWrite, Explained: explained}); err != nil {
			t.Fatal(err)
		}
		lines := 2 * len(changes) // the default layout explains under each change
		if format != "" {
			lines = 1 + len(changes)
		}
		assertTerminalSafe(t, "cgpin "+format, out.String(), lines)
		assertTerminalSafe(t, "cgpin notes", errOut.String(), 2)
	}
	var md, errOut bytes.Buffer
	if err := WritePin(&md, &errOut, "markdown", PinReport{Plan: plan, Mode: PinCheck, Explained: explained}); err != nil {
		t.Fatal(err)
	}
	assertMarkdownSafe(t, "cgpin markdown", md.String())
	var js bytes.Buffer
	if err := WritePin(&js, &errOut, "json", PinReport{Plan: plan, Mode: PinCheck, Explained: explained}); err != nil {
		t.Fatal(err)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(js.String(), "\n", 2)[0]), &first); err != nil || first["File"] != changes[0].File || first["Why"] != changes[0].Why {
		t.Errorf("cgpin json not exact: %v %v", first, err)
	}

	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	var table bytes.Buffer
	if err := WriteOutdated(&table, "", now, lags); err != nil {
		t.Fatal(err)
	}
	assertTerminalSafe(t, "outdated table", table.String(), 1+len(lags))
	var omd bytes.Buffer
	if err := WriteOutdated(&omd, "markdown", now, lags); err != nil {
		t.Fatal(err)
	}
	assertMarkdownSafe(t, "outdated markdown", omd.String())
	var ojs bytes.Buffer
	if err := WriteOutdated(&ojs, "json", now, lags); err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(ojs.String(), "\n", 2)[0]), &o); err != nil || o["Note"] != lags[0].Note || o["File"] != lags[0].File {
		t.Errorf("outdated json not exact: %v %v", o, err)
	}

	var pol bytes.Buffer
	if err := WritePolicy(&pol, []PolicyValue{{Key: "platform", Value: forged, Source: ".cgpin.yaml" + retitle + ":3"}}); err != nil {
		t.Fatal(err)
	}
	assertTerminalSafe(t, "policy", pol.String(), 2)
}

// FuzzEscape: whatever a registry sends, the escaped text has nothing a
// terminal acts on, and clean text is left as it is; a markdown cell is one
// code span that never splits its row.
func FuzzEscape(f *testing.F) {
	for _, s := range append([]string{"", "latest", "a\\|b", "``", " ` ", "\xff\xfe", "\u202e|\u2028"}, hostile...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		for _, r := range e {
			if !strconv.IsGraphic(r) {
				t.Fatalf("Escape(%q) = %q keeps %q", s, e, r)
			}
		}
		if clean := strings.IndexFunc(s, func(r rune) bool { return !strconv.IsGraphic(r) }) < 0 && utf8.ValidString(s); clean && e != s {
			t.Fatalf("Escape(%q) = %q changed clean text", s, e)
		}
		if s == "" {
			return
		}
		cell := MarkdownCell(s)
		if cells := gfmCells("| " + cell + " | end |"); len(cells) != 2 {
			t.Fatalf("MarkdownCell(%q) = %q splits the row: %q", s, cell, cells)
		}
		if rest := outsideCode(strings.ReplaceAll(cell, `\|`, "|")); rest != "" {
			t.Fatalf("MarkdownCell(%q) = %q leaves %q outside code", s, cell, rest)
		}
	})
}
