package inventory

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/package-url/packageurl-go"
)

// ParseDpkg reads a dpkg status file (or one distroless status.d file):
// RFC 822 paragraphs. Only installed packages count: a Status other than
// "install ok installed" (e.g. deinstall) is skipped; status.d files carry
// no Status and are installed (in a file where other paragraphs have a
// Status, a paragraph without one is not). A malformed line is an error.
func ParseDpkg(r io.Reader, namespace string) ([]Package, error) {
	data, err := readLimited(r, maxDB, "dpkg status")
	if err != nil {
		return nil, err
	}
	var out []Package
	var noStatus []bool // per package: had no Status field
	anyStatus := false
	fields := map[string]string{}
	var last string
	lineNo := 0
	flush := func() {
		defer func() { fields = map[string]string{}; last = "" }()
		name, version := fields["package"], fields["version"]
		if name == "" || version == "" {
			return
		}
		st, hasStatus := fields["status"]
		anyStatus = anyStatus || hasStatus
		if hasStatus && !strings.HasSuffix(strings.TrimSpace(st), " installed") {
			return
		}
		p := Package{Name: name, Version: version, Type: "deb", Namespace: namespace, Arch: fields["architecture"], Origin: name}
		if src := fields["source"]; src != "" {
			// "Source: openssl (1.1.1-1)" names the source and its version.
			p.Origin = strings.Fields(src)[0]
		}
		q := packageurl.Qualifiers{}
		if p.Arch != "" {
			q = append(q, packageurl.Qualifier{Key: "arch", Value: p.Arch})
		}
		p.PURL = packageurl.NewPackageURL("deb", namespace, name, version, q, "").ToString()
		out = append(out, p)
		noStatus = append(noStatus, !hasStatus)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last == "" {
				return nil, fmt.Errorf("dpkg status line %d: continuation line without a field", lineNo)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.ContainsAny(k, " \t") {
				return nil, fmt.Errorf("dpkg status line %d: malformed field", lineNo)
			}
			last = strings.ToLower(k)
			fields[last] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read dpkg status: %w", err)
	}
	flush()
	if anyStatus {
		kept := out[:0]
		for i, p := range out {
			if !noStatus[i] {
				kept = append(kept, p)
			}
		}
		out = kept
	}
	return out, nil
}
