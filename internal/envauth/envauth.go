// Package envauth reads registry credentials that arrive without a
// `docker login`: CGHISTORY_AUTH_<HOST> variables and docker-config-format
// files named by CGHISTORY_AUTH_FILE (Kubernetes .dockerconfigjson secrets,
// CI-provided config files). It is read-only: nothing is ever written.
package envauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// FileVar names the variable holding a path list of docker config files.
const FileVar = "CGHISTORY_AUTH_FILE"

// VarPrefix starts the per-host variables, e.g. CGHISTORY_AUTH_CGR_DEV.
const VarPrefix = "CGHISTORY_AUTH_"

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

// VarName is the variable for host: upper-case, every non-alphanumeric
// character as "_" (cgr.dev → CGHISTORY_AUTH_CGR_DEV).
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

// Get returns the credentials for serverURL, first match wins: the host's
// variable, then the files of CGHISTORY_AUTH_FILE in order.
func (s Sources) Get(serverURL string) (Credential, error) {
	host := Hostname(serverURL)
	if host == "" {
		return Credential{}, ErrNotFound
	}
	names := []string{host}
	if host == ref.DockerHub {
		names = ref.DockerHubAliases
	}
	for _, n := range names {
		v := VarName(n)
		if val := s.getenv(v); val != "" {
			return parseValue(v, val)
		}
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

// List maps every server with credentials to its username (never secrets).
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
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, VarPrefix) || k == FileVar || v == "" {
			continue
		}
		c, err := parseValue(k, v)
		if err != nil {
			return nil, err
		}
		// Variables name hosts only approximately (dots and colons are both
		// "_"): report the variable's own host spelling when a file agrees.
		host := strings.ToLower(strings.TrimPrefix(k, VarPrefix))
		for h := range out {
			if VarName(h) == k {
				host = h
			}
		}
		out[host] = c.Username
	}
	return out, nil
}

func parseValue(name, val string) (Credential, error) {
	val = strings.TrimSpace(val)
	if user, secret, ok := strings.Cut(val, ":"); ok {
		if user == "" || secret == "" {
			return Credential{}, fmt.Errorf("%s: want USERNAME:SECRET or a bare token", name)
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

func readFile(path string) (authFile, error) {
	b, err := os.ReadFile(path)
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
