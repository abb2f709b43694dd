// Package envauth reads registry credentials that arrive without a
// `docker login`: CGHISTORY_AUTH_<NAME> variables and docker-config-format
// files named by CGHISTORY_AUTH_FILE (Kubernetes .dockerconfigjson secrets,
// CI-provided config files). It is read-only: nothing is ever written.
//
// A variable name cannot spell a host: "." "-" and ":" all become "_", so
// CGHISTORY_AUTH_REGISTRY_ACME_COM names registry.acme.com and
// registry-acme.com alike. A variable therefore serves exactly one host:
// the one its value names ("host=registry.acme.com robot:secret"), or, for a
// value without a host, the only registry host its name can stand for
// (CGHISTORY_AUTH_CGR_DEV: cgr.dev). Any other variable is ambiguous and an
// error, as are two variables for one host.
package envauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// FileVar names the variable holding a path list of docker config files.
const FileVar = "CGHISTORY_AUTH_FILE"

// VarPrefix starts the credential variables, e.g. CGHISTORY_AUTH_CGR_DEV.
const VarPrefix = "CGHISTORY_AUTH_"

// HostPrefix starts a value that names its host: "host=HOST CREDENTIAL".
const HostPrefix = "host="

// TokenUser is the username reported for a bare token: the cgr.dev
// convention for identity tokens.
const TokenUser = "_token"

// ErrNotFound means no source has credentials for the registry.
var ErrNotFound = errors.New("credentials not found")

// Credential is what a source holds for a registry.
type Credential struct {
	Username string
	Secret   string
	Source   string // the variable or file it came from
}

// Sources reads credentials from the process environment.
type Sources struct{}

func (Sources) getenv(k string) string { return os.Getenv(k) }

// Hostname normalises a server URL as docker does ("https://cgr.dev/v2/" →
// "cgr.dev"; every Docker Hub alias → "index.docker.io").
func Hostname(serverURL string) string { return ref.Hostname(serverURL) }

// VarName is the variable a value without a host is looked up under:
// upper-case, every non-alphanumeric character as "_" (cgr.dev →
// CGHISTORY_AUTH_CGR_DEV). Many hosts share a name; see NameHost.
func VarName(host string) string {
	var b strings.Builder
	b.WriteString(VarPrefix)
	for _, r := range strings.ToUpper(host) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// NameHost returns the one registry host a variable without a host in its
// value serves, and false when its name could stand for more than one.
//
// A name part without "_" is a one-label host (LOCALHOST: localhost). A
// name of two parts (CGR_DEV) stands for "cgr.dev", "cgr-dev" or "cgr:dev";
// "cgr:dev" is no host (a port is a number) and "cgr-dev", having neither
// "." nor ":", is never a registry in an image reference (docker reads
// cgr-dev/app as docker.io/cgr-dev/app), so no Dockerfile or manifest can
// make docker ask for it. Every other name is ambiguous: REGISTRY_ACME_COM is
// registry.acme.com and registry-acme.com, LOCALHOST_5000 is localhost:5000
// and localhost.5000.
func NameHost(name string) (string, bool) {
	n, ok := strings.CutPrefix(name, VarPrefix)
	if !ok || n == "" || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
		return "", false
	}
	parts := strings.Split(strings.ToLower(n), "_")
	switch {
	case len(parts) == 1:
		return parts[0], true
	case len(parts) == 2 && parts[0] != "" && parts[1] != "" && strings.Trim(parts[1], "0123456789") != "":
		return parts[0] + "." + parts[1], true
	}
	return "", false
}

// hostRE is docker's grammar for a registry host (distribution/reference).
var hostRE = regexp.MustCompile(`^(?:` + reference.DomainRegexp.String() + `)$`)

// variable is one parsed CGHISTORY_AUTH_<NAME> variable.
type variable struct {
	name     string
	host     string // as written in the value, or NameHost's; "" when ambiguous
	explicit bool   // the value names its host
	cred     Credential
}

// serves reports whether v holds credentials for host (normalised).
func (v variable) serves(host string) bool { return v.host != "" && Hostname(v.host) == host }

// mayServe reports whether v is a value without a host whose name is one
// of host's (a Docker Hub alias counts as the host).
func (v variable) mayServe(host string) (alias string, ok bool) {
	if v.explicit {
		return "", false
	}
	names := []string{host}
	if host == ref.DockerHub {
		names = ref.DockerHubAliases
	}
	for _, n := range names {
		if VarName(n) == v.name {
			return n, true
		}
	}
	return "", false
}

// ambiguity is the error for a variable without a host whose name stands for
// host and others; it names two of them, never the value.
func ambiguity(name, host string) error {
	var other string
	switch {
	case strings.Contains(host, "-"):
		other = strings.Replace(host, "-", ".", 1)
	case strings.Contains(host, ":"):
		other = strings.Replace(host, ":", ".", 1)
	default:
		other = strings.Replace(host, ".", "-", 1)
	}
	return fmt.Errorf("%s could mean %s or %s (a variable name writes '.', '-' and ':' all as '_'), so it is used for neither: "+
		"start its value with the host it is for and a space, %s%s or %s%s", name, host, other, HostPrefix, host, HostPrefix, other)
}

// nameReading is one host an ambiguous variable name stands for: "_" read
// as ".", and as ":" before a last part that is a number (a port).
func nameReading(name string) string {
	parts := strings.Split(strings.ToLower(strings.TrimPrefix(name, VarPrefix)), "_")
	if last := parts[len(parts)-1]; len(parts) > 1 && last != "" && strings.Trim(last, "0123456789") == "" {
		return strings.Join(parts[:len(parts)-1], ".") + ":" + last
	}
	return strings.Join(parts, ".")
}

// Get returns the credentials for serverURL, first match wins: a variable,
// then the files of CGHISTORY_AUTH_FILE in order. Two variables for the
// host, or one whose name stands for the host and another, are an error.
func (s Sources) Get(serverURL string) (Credential, error) {
	host := Hostname(serverURL)
	if host == "" {
		return Credential{}, ErrNotFound
	}
	vars, err := s.variables()
	if err != nil {
		return Credential{}, err
	}
	var found []variable
	for _, v := range vars {
		if alias, ok := v.mayServe(host); ok && v.host == "" {
			return Credential{}, ambiguity(v.name, alias)
		}
		if v.serves(host) {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
	case 1:
		return found[0].cred, nil
	default:
		return Credential{}, conflict(found[0], found[1])
	}
	files, err := s.files()
	if err != nil {
		return Credential{}, err
	}
	for _, f := range files {
		if c, ok := f.entries[host]; ok {
			return c, nil
		}
	}
	return Credential{}, ErrNotFound
}

func conflict(a, b variable) error {
	return fmt.Errorf("%s (for %s) and %s (for %s) both hold credentials for %s: keep one",
		a.name, a.host, b.name, b.host, Hostname(a.host))
}

// List maps every server with credentials to its username (never secrets).
// An ambiguous variable or two variables for one host are an error.
func (s Sources) List() (map[string]string, error) {
	out := map[string]string{}
	files, err := s.files()
	if err != nil {
		return nil, err
	}
	for i := len(files) - 1; i >= 0; i-- { // earlier files win
		for host, c := range files[i].entries {
			out[host] = c.Username
		}
	}
	vars, err := s.variables()
	if err != nil {
		return nil, err
	}
	byHost := map[string]variable{}
	for _, v := range vars {
		if v.host == "" {
			return nil, ambiguity(v.name, nameReading(v.name))
		}
		h := Hostname(v.host)
		if prev, dup := byHost[h]; dup {
			return nil, conflict(prev, v)
		}
		byHost[h] = v
		out[h] = v.cred.Username
	}
	return out, nil
}

// variables parses every CGHISTORY_AUTH_<NAME> variable with a value,
// sorted by name.
func (s Sources) variables() ([]variable, error) {
	var out []variable
	for _, kv := range os.Environ() {
		k, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, VarPrefix) || k == FileVar || val == "" {
			continue
		}
		v, err := parseVariable(k, val)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// parseVariable reads "host=HOST CREDENTIAL" or "CREDENTIAL". Errors name
// the variable, never any part of the value.
func parseVariable(name, val string) (variable, error) {
	val = strings.TrimSpace(val)
	v := variable{name: name}
	if rest, ok := strings.CutPrefix(val, HostPrefix); ok {
		host, cred := rest, ""
		if i := strings.IndexAny(rest, " \t\n"); i >= 0 {
			host, cred = rest[:i], rest[i+1:]
		}
		host = strings.ToLower(host)
		if !hostRE.MatchString(host) {
			return variable{}, fmt.Errorf("%s: the value must start with %sHOST and a space, HOST a registry host such as cgr.dev or 127.0.0.1:5000", name, HostPrefix)
		}
		v.host, v.explicit, val = host, true, strings.TrimSpace(cred)
	} else if h, ok := NameHost(name); ok {
		v.host = h
	} else if strings.Trim(strings.TrimPrefix(name, VarPrefix), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" || name == VarPrefix {
		return variable{}, fmt.Errorf("%s names no host: start its value with %sHOST and a space", name, HostPrefix)
	}
	c, err := parseValue(name, val)
	if err != nil {
		return variable{}, err
	}
	v.cred = c
	return v, nil
}

func parseValue(name, val string) (Credential, error) {
	if val == "" {
		return Credential{}, fmt.Errorf("%s: want [%sHOST] USERNAME:SECRET or a bare token", name, HostPrefix)
	}
	if user, secret, ok := strings.Cut(val, ":"); ok {
		if user == "" || secret == "" {
			return Credential{}, fmt.Errorf("%s: want [%sHOST] USERNAME:SECRET or a bare token", name, HostPrefix)
		}
		return Credential{Username: user, Secret: secret, Source: name}, nil
	}
	if strings.ContainsAny(val, " \t\n") {
		return Credential{}, fmt.Errorf("%s: a token must not contain white space", name)
	}
	return Credential{Username: TokenUser, Secret: val, Source: name}, nil
}

type authFile struct {
	path    string
	entries map[string]Credential
}

// files reads every file named by CGHISTORY_AUTH_FILE, in order.
func (s Sources) files() ([]authFile, error) {
	list := s.getenv(FileVar)
	if list == "" {
		return nil, nil
	}
	var out []authFile
	for _, p := range filepath.SplitList(list) {
		if p == "" {
			continue
		}
		f, err := readFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// MaxFileSize bounds a file named by CGHISTORY_AUTH_FILE (a Kubernetes
// secret holds at most 1 MiB).
const MaxFileSize = 1 << 20

func readFile(path string) (authFile, error) {
	b, err := readBounded(path)
	if err != nil {
		return authFile{}, fmt.Errorf("%s: %w", FileVar, err)
	}
	var doc struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		// Never echo the content: it holds secrets.
		return authFile{}, fmt.Errorf("%s: %s is not a docker config file (invalid JSON)", FileVar, path)
	}
	f := authFile{path: path, entries: map[string]Credential{}}
	keys := make([]string, 0, len(doc.Auths))
	for k := range doc.Auths {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic when two keys name one host
	for _, k := range keys {
		e := doc.Auths[k]
		c := Credential{Username: e.Username, Secret: e.Password, Source: path}
		if e.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return authFile{}, fmt.Errorf("%s: %s: the \"auth\" of %q is not base64", FileVar, path, k)
			}
			u, p, ok := strings.Cut(string(raw), ":")
			if !ok || u == "" {
				return authFile{}, fmt.Errorf("%s: %s: the \"auth\" of %q is not base64(USERNAME:PASSWORD)", FileVar, path, k)
			}
			c.Username, c.Secret = u, p
		}
		if e.IdentityToken != "" {
			// docker's helper convention: "<token>" marks an identity token.
			c.Username, c.Secret = "<token>", e.IdentityToken
		}
		if c.Username == "" || c.Secret == "" {
			// docker writes empty entries when a credsStore holds the secret.
			continue
		}
		host := Hostname(k)
		if _, dup := f.entries[host]; !dup {
			f.entries[host] = c
		}
	}
	return f, nil
}

// readBounded reads a regular file of at most MaxFileSize bytes; anything
// else (a FIFO, a device such as /dev/zero) is refused before it is opened.
func readBounded(path string) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d KiB, too large for a docker config file", path, MaxFileSize>>10)
	}
	return b, nil
}
