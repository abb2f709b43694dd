package envauth

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVarNameAndHostname(t *testing.T) {
	for in, want := range map[string]string{
		"cgr.dev":        "CGHISTORY_AUTH_CGR_DEV",
		"127.0.0.1:5000": "CGHISTORY_AUTH_127_0_0_1_5000",
		"my-reg.io":      "CGHISTORY_AUTH_MY_REG_IO",
	} {
		if got := VarName(in); got != want {
			t.Errorf("VarName(%q) = %q, want %q", in, got, want)
		}
	}
	for name, want := range map[string]string{
		"CGHISTORY_AUTH_CGR_DEV":           "cgr.dev",
		"CGHISTORY_AUTH_GHCR_IO":           "ghcr.io",
		"CGHISTORY_AUTH_DOCKER_IO":         "docker.io",
		"CGHISTORY_AUTH_LOCALHOST":         "localhost",
		"CGHISTORY_AUTH_REGISTRY_ACME_COM": "", // registry.acme.com, registry-acme.com
		"CGHISTORY_AUTH_INDEX_DOCKER_IO":   "", // index.docker.io, index-docker.io
		"CGHISTORY_AUTH_US_DOCKER_PKG_DEV": "", // us-docker.pkg.dev, us-docker-pkg.dev
		"CGHISTORY_AUTH_LOCALHOST_5000":    "", // localhost:5000, localhost.5000
		"CGHISTORY_AUTH_127_0_0_1_5000":    "",
		"CGHISTORY_AUTH__CGR":              "",
		"CGHISTORY_AUTH_cgr_dev":           "",
		"CGHISTORY_AUTH_":                  "",
		"CGR_DEV":                          "",
	} {
		got, ok := NameHost(name)
		if got != want || ok != (want != "") {
			t.Errorf("NameHost(%q) = %q, %v, want %q", name, got, ok, want)
		}
	}
	for in, want := range map[string]string{
		"https://index.docker.io/v1/": "index.docker.io",
		"docker.io":                   "index.docker.io",
		"registry-1.docker.io":        "index.docker.io",
		"http://127.0.0.1:5000":       "127.0.0.1:5000",
		"https://CGR.dev/v2/":         "cgr.dev",
		"cgr.dev":                     "cgr.dev",
	} {
		if got := Hostname(in); got != want {
			t.Errorf("Hostname(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGet(t *testing.T) {
	f1 := writeFile(t, `{"auths":{"https://cgr.dev":{"auth":"`+b64("file1:pw1")+`"},"https://index.docker.io/v1/":{"username":"hubuser","password":"hubpw"},"ghcr.io":{"identitytoken":"idtok"}}}`)
	f2 := writeFile(t, `{"auths":{"cgr.dev":{"auth":"`+b64("file2:pw2")+`"},"quay.io":{"username":"q","password":"qpw"}}}`)
	t.Setenv(FileVar, f1+string(os.PathListSeparator)+f2)
	t.Setenv("CGHISTORY_AUTH_LOCAL", "host=127.0.0.1:5000 local:localpw")
	t.Setenv("CGHISTORY_AUTH_GHCR_IO", "bare.token.value")
	cases := []struct {
		server, user, secret, source string
	}{
		{"cgr.dev", "file1", "pw1", f1},          // first file wins
		{"https://cgr.dev/", "file1", "pw1", f1}, // scheme and path ignored
		{"quay.io", "q", "qpw", f2},              // later file
		{"docker.io", "hubuser", "hubpw", f1},    // Docker Hub aliases
		{"http://127.0.0.1:5000", "local", "localpw", "CGHISTORY_AUTH_LOCAL"},
		{"ghcr.io", "_token", "bare.token.value", "CGHISTORY_AUTH_GHCR_IO"}, // variable beats file
	}
	for _, tc := range cases {
		c, err := Sources{}.Get(tc.server)
		if err != nil {
			t.Errorf("%s: %v", tc.server, err)
			continue
		}
		if c.Username != tc.user || c.Secret != tc.secret || c.Source != tc.source {
			t.Errorf("%s = %+v, want %s/%s from %s", tc.server, c, tc.user, tc.secret, tc.source)
		}
	}
	if _, err := (Sources{}).Get("nothing.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown host: %v", err)
	}
	list, err := Sources{}.List()
	if err != nil {
		t.Fatal(err)
	}
	if list["cgr.dev"] != "file1" || list["quay.io"] != "q" || list["ghcr.io"] != "_token" || list["127.0.0.1:5000"] != "local" {
		t.Errorf("List = %v", list)
	}
	for _, secret := range []string{"pw1", "pw2", "hubpw", "localpw", "bare.token.value", "idtok"} {
		for k, v := range list {
			if strings.Contains(k+v, secret) {
				t.Errorf("List leaks %q", secret)
			}
		}
	}
	// An identity token in a file is reported with docker's "<token>" user.
	t.Setenv("CGHISTORY_AUTH_GHCR_IO", "")
	if c, _ := (Sources{}).Get("ghcr.io"); c.Username != "<token>" || c.Secret != "idtok" {
		t.Errorf("identity token = %+v", c)
	}
}

func TestMalformed(t *testing.T) {
	secret := "s3cr3t-value"
	cases := []struct {
		name, env, file, want string
	}{
		{"empty user", ":" + secret, "", "CGHISTORY_AUTH_R_IO: want [host=HOST] USERNAME:SECRET"},
		{"no credential after the host", "host=r.io", "", "CGHISTORY_AUTH_R_IO: want [host=HOST] USERNAME:SECRET"},
		{"no space after the host", "host=r.io:" + secret, "", "CGHISTORY_AUTH_R_IO: the value must start with host=HOST and a space"},
		{"not a host", "host=" + secret + "/x u:p", "", "CGHISTORY_AUTH_R_IO: the value must start with host=HOST"},
		{"token with spaces", "two words", "", "must not contain white space"},
		{"bad JSON", "", `{"auths": {"r.io": ` + secret, "is not a docker config file"},
		{"bad base64", "", `{"auths":{"r.io":{"auth":"!!` + secret + `"}}}`, `"auth" of "r.io" is not base64`},
		{"no colon", "", `{"auths":{"r.io":{"auth":"` + b64(secret) + `"}}}`, "not base64(USERNAME:PASSWORD)"},
		{"missing file", "", "MISSING", "no such file"},
		{"device", "", "/dev/zero", "/dev/zero is not a regular file"},
		{"too large", "", `{"auths":{"r.io":{"auth":"` + strings.Repeat("A", MaxFileSize) + `"}}}`, "is larger than 1024 KiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CGHISTORY_AUTH_R_IO", tc.env)
			switch tc.file {
			case "":
				t.Setenv(FileVar, "")
			case "MISSING":
				t.Setenv(FileVar, filepath.Join(t.TempDir(), "nope.json"))
			case "/dev/zero":
				t.Setenv(FileVar, tc.file)
			default:
				t.Setenv(FileVar, writeFile(t, tc.file))
			}
			_, err := Sources{}.Get("r.io")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestEmptyEntriesAreSkipped(t *testing.T) {
	// docker writes empty entries when a credsStore holds the secret.
	t.Setenv(FileVar, writeFile(t, `{"auths":{"https://index.docker.io/v1/":{},"r.io":{"auth":"`+b64("u:p")+`"}}}`))
	if c, err := (Sources{}).Get("r.io"); err != nil || c.Username != "u" {
		t.Errorf("with an empty entry: %+v %v", c, err)
	}
	if _, err := (Sources{}).Get("docker.io"); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty entry: %v", err)
	}
}

// The look-alike pairs of the hardening issue: one name under the old
// folding, so the first host's secret went to the second.
var lookalikes = [][2]string{
	{"registry.acme.com", "registry-acme.com"},
	{"index.docker.io", "index-docker.io"},
	{"us-docker.pkg.dev", "us-docker-pkg.dev"},
	{"127.0.0.1:5000", "127.0.0.1.5000"},
}

// clearVars unsets every credential variable of the test process for the test.
func clearVars(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, VarPrefix) {
			t.Setenv(k, "")
		}
	}
}

func TestLookalikeHostsNeverShareASecret(t *testing.T) {
	for _, pair := range lookalikes {
		for _, p := range [][2]string{pair, {pair[1], pair[0]}} {
			owner, other := p[0], p[1]
			t.Run(owner+" vs "+other, func(t *testing.T) {
				clearVars(t)
				t.Setenv(FileVar, "")
				secret := "secret-of-" + owner
				// The old README's spelling: the name alone, no host in the value.
				t.Setenv(VarName(owner), "robot:"+secret)
				c, err := Sources{}.Get(other)
				if strings.Contains(c.Secret, secret) {
					t.Fatalf("%s got %s's secret from %s", other, owner, VarName(owner))
				}
				if err == nil || errors.Is(err, ErrNotFound) {
					t.Fatalf("Get(%s) = %v, want an error naming the ambiguous variable", other, err)
				}
				for _, want := range []string{VarName(owner), other, "host=" + other} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %q", err, want)
					}
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error leaks the secret")
				}

				// The host in the value: served to that host only.
				t.Setenv(VarName(owner), "host="+owner+" robot:"+secret)
				if c, err := (Sources{}).Get(owner); err != nil || c.Secret != secret || c.Username != "robot" {
					t.Errorf("Get(%s) = %s, %v", owner, c.Source, err)
				}
				if c, err := (Sources{}).Get("https://" + other + "/v2/"); !errors.Is(err, ErrNotFound) || c.Secret != "" {
					t.Errorf("Get(%s) = %s, %v, want not found", other, c.Source, err)
				}

				// Both hosts configured, under any names: each gets its own.
				t.Setenv("CGHISTORY_AUTH_OTHER", "host="+other+" robot:other-secret")
				if c, err := (Sources{}).Get(owner); err != nil || c.Secret != secret {
					t.Errorf("both: Get(%s) = %s, %v", owner, c.Source, err)
				}
				if c, err := (Sources{}).Get(other); err != nil || c.Secret != "other-secret" {
					t.Errorf("both: Get(%s) = %s, %v", other, c.Source, err)
				}
				list, err := Sources{}.List()
				if err != nil || list[Hostname(owner)] != "robot" || list[Hostname(other)] != "robot" {
					t.Errorf("List = %v, %v", list, err)
				}
			})
		}
	}
}

func TestAmbiguousAndConflictingVariables(t *testing.T) {
	secret := "s3cr3t-value"
	cases := []struct {
		name string
		env  map[string]string
		host string
		want []string // in the error
	}{
		{"name without host", map[string]string{"CGHISTORY_AUTH_REGISTRY_ACME_COM": "u:" + secret},
			"registry.acme.com", []string{"CGHISTORY_AUTH_REGISTRY_ACME_COM could mean registry.acme.com or registry-acme.com", "host=registry.acme.com"}},
		{"port", map[string]string{"CGHISTORY_AUTH_LOCALHOST_5000": secret},
			"localhost:5000", []string{"CGHISTORY_AUTH_LOCALHOST_5000 could mean localhost:5000 or localhost.5000"}},
		{"Docker Hub alias", map[string]string{"CGHISTORY_AUTH_INDEX_DOCKER_IO": secret},
			"docker.io", []string{"CGHISTORY_AUTH_INDEX_DOCKER_IO could mean index.docker.io or index-docker.io"}},
		{"stale name beside the host form", map[string]string{"CGHISTORY_AUTH_REGISTRY_ACME_COM": "u:" + secret, "CGHISTORY_AUTH_ACME": "host=registry.acme.com u:" + secret},
			"registry.acme.com", []string{"CGHISTORY_AUTH_REGISTRY_ACME_COM could mean"}},
		{"two variables, one host", map[string]string{"CGHISTORY_AUTH_CGR_DEV": secret, "CGHISTORY_AUTH_CGR": "host=cgr.dev u:" + secret},
			"cgr.dev", []string{"CGHISTORY_AUTH_CGR (for cgr.dev) and CGHISTORY_AUTH_CGR_DEV (for cgr.dev) both hold credentials for cgr.dev"}},
		{"two spellings of Docker Hub", map[string]string{"CGHISTORY_AUTH_HUB": "host=docker.io u:" + secret, "CGHISTORY_AUTH_HUB2": "host=index.docker.io u:" + secret},
			"index.docker.io", []string{"CGHISTORY_AUTH_HUB (for docker.io) and CGHISTORY_AUTH_HUB2 (for index.docker.io)"}},
		{"lower-case name", map[string]string{"CGHISTORY_AUTH_cgr_dev": secret},
			"cgr.dev", []string{"CGHISTORY_AUTH_cgr_dev names no host"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearVars(t)
			t.Setenv(FileVar, "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Sources{}.Get(tc.host)
			_, lerr := Sources{}.List()
			for _, e := range []error{err, lerr} {
				if e == nil || errors.Is(e, ErrNotFound) {
					t.Fatalf("err = %v, want %q", e, tc.want)
				}
				if strings.Contains(e.Error(), secret) {
					t.Errorf("the error leaks the secret")
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Get: %v, want %q", err, w)
				}
			}
		})
	}
	// An unambiguous name is not served to the host it does not stand for.
	clearVars(t)
	t.Setenv("CGHISTORY_AUTH_CGR_DEV", secret)
	if c, err := (Sources{}).Get("cgr-dev"); !errors.Is(err, ErrNotFound) || c.Secret != "" {
		t.Errorf("cgr-dev = %s, %v", c.Source, err)
	}
	if c, err := (Sources{}).Get("cgr.dev"); err != nil || c.Secret != secret {
		t.Errorf("cgr.dev = %s, %v", c.Source, err)
	}
}
