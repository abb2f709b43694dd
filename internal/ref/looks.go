package ref

import "strings"

// LooksLikeImage tells a variable's default that names an image
// ("golang:1.23", "cgr.dev/chainguard/go@sha256:…") from the others a Bake
// file sets ("1.2.3", "linux/amd64", "localhost:5000"): it has a tag or a
// digest, and is not a host:port.
func LooksLikeImage(s string) bool {
	if !strings.ContainsAny(s, ":@") || strings.ContainsAny(s, " ,=") || strings.Contains(s, "://") {
		return false
	}
	name, _, _ := strings.Cut(s, "@")
	if i := strings.LastIndex(name, ":"); i >= 0 && !strings.Contains(name, "/") {
		host, port := name[:i], name[i+1:]
		if (host == "localhost" || strings.Contains(host, ".")) && strings.Trim(port, "0123456789") == "" {
			return false
		}
	}
	_, err := ParseImage(s)
	return err == nil
}
