package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
)

// helperEnv is the test process's environment without credential
// variables, plus env.
func helperEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CGHISTORY_AUTH_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// get runs the helper's get for server, as docker does.
func get(t *testing.T, server string, env ...string) (stdout string, err error) {
	t.Helper()
	cmd := exec.Command(binary, "get")
	cmd.Env = helperEnv(env...)
	cmd.Stdin = strings.NewReader(server + "\n")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The pairs of the hardening issue: one variable name under the old folding,
// so `get` for the second host answered the first host's secret.
func TestGetNeverServesALookalikeHost(t *testing.T) {
	for _, p := range [][2]string{
		{"registry.acme.com", "registry-acme.com"},
		{"index.docker.io", "index-docker.io"},
		{"us-docker.pkg.dev", "us-docker-pkg.dev"},
	} {
		owner, other := p[0], p[1]
		name := "CGHISTORY_AUTH_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(owner))
		secret := "robot-secret-for-" + owner
		t.Run(other, func(t *testing.T) {
			// The old README's spelling, name only: refused for both hosts,
			// naming the variable and the look-alike, never the secret.
			for server, host := range map[string]string{other: other, "https://" + other + "/v1/": other, owner: owner} {
				out, err := get(t, server, name+"=robot:"+secret)
				if strings.Contains(out, secret) {
					t.Fatalf("get %s answered %s's secret from %s", server, owner, name)
				}
				if err == nil {
					t.Fatalf("get %s with %s set succeeded: %s", server, name, out)
				}
				if !strings.Contains(out, name+" could mean "+host+" or ") || !strings.Contains(out, "host="+host) {
					t.Errorf("get %s: %s", server, out)
				}
			}
			// The host in the value: the owner gets it, the look-alike hears
			// docker's "credentials not found".
			env := []string{name + "=host=" + owner + " robot:" + secret}
			p := client.NewShellProgramFuncWithEnv(binary, &map[string]string{name: "host=" + owner + " robot:" + secret})
			c, err := client.Get(p, owner)
			if err != nil || c.Username != "robot" || c.Secret != secret {
				t.Fatalf("get %s = %+v, %v", owner, c, err)
			}
			out, err := get(t, other, env...)
			if strings.Contains(out, secret) {
				t.Fatalf("get %s answered %s's secret", other, owner)
			}
			if err == nil || !strings.Contains(out, credentials.NewErrCredentialsNotFound().Error()) {
				t.Errorf("get %s = %v\n%s", other, err, out)
			}
		})
	}
}
