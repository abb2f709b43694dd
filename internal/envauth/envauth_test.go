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
	t.Setenv("CGHISTORY_AUTH_127_0_0_1_5000", "local:localpw")
	t.Setenv("CGHISTORY_AUTH_GHCR_IO", "bare.token.value")
	cases := []struct {
		server, user, secret, source string
	}{
		{"cgr.dev", "file1", "pw1", f1},          // first file wins
		{"https://cgr.dev/", "file1", "pw1", f1}, // scheme and path ignored
		{"quay.io", "q", "qpw", f2},              // later file
		{"docker.io", "hubuser", "hubpw", f1},    // Docker Hub aliases
		{"http://127.0.0.1:5000", "local", "localpw", "CGHISTORY_AUTH_127_0_0_1_5000"},
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
	if list["cgr.dev"] != "file1" || list["quay.io"] != "q" || list["ghcr.io"] != "_token" {
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
		{"empty user", ":" + secret, "", "CGHISTORY_AUTH_R_IO: want USERNAME:SECRET"},
		{"token with spaces", "two words", "", "must not contain white space"},
		{"bad JSON", "", `{"auths": {"r.io": ` + secret, "is not a docker config file"},
		{"bad base64", "", `{"auths":{"r.io":{"auth":"!!` + secret + `"}}}`, `"auth" of "r.io" is not base64`},
		{"no colon", "", `{"auths":{"r.io":{"auth":"` + b64(secret) + `"}}}`, "not base64(USERNAME:PASSWORD)"},
		{"missing file", "", "MISSING", "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CGHISTORY_AUTH_R_IO", tc.env)
			switch tc.file {
			case "":
				t.Setenv(FileVar, "")
			case "MISSING":
				t.Setenv(FileVar, filepath.Join(t.TempDir(), "nope.json"))
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
