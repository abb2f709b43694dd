package inventory

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/package-url/packageurl-go"
)

// maxDB bounds a package database read into memory.
const maxDB = 64 << 20

// ParseAPK reads an apk installed database (lib/apk/db/installed): records
// separated by blank lines, one "X:value" field per line. Lines that are not
// fields (a corrupt first line) and records without name or version are
// skipped; a database with content but no package at all is an error.
func ParseAPK(r io.Reader, namespace string) ([]Package, error) {
	data, err := readLimited(r, maxDB, "apk database")
	if err != nil {
		return nil, err
	}
	var out []Package
	var cur Package
	flush := func() {
		if cur.Name != "" && cur.Version != "" {
			if cur.Origin == "" {
				cur.Origin = cur.Name
			}
			cur.Type = "apk"
			cur.Namespace = namespace
			cur.PURL = apkPURL(cur)
			out = append(out, cur)
		}
		cur = Package{}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sawField := false
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			continue // not a field
		}
		sawField = true
		v := line[2:]
		switch line[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'o':
			cur.Origin = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read apk database: %w", err)
	}
	flush()
	if len(out) == 0 && len(bytes.TrimSpace(data)) > 0 && !sawField {
		return nil, errors.New("not an apk database: no P:/V: fields")
	}
	return out, nil
}

func apkPURL(p Package) string {
	q := packageurl.Qualifiers{}
	if p.Arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: p.Arch})
	}
	return packageurl.NewPackageURL("apk", p.Namespace, p.Name, p.Version, q, "").ToString()
}
