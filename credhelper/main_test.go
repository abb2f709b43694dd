package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "credhelper-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "docker-credential-cghistory")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// program runs the built helper with env, through the protocol client.
func program(env map[string]string) client.ProgramFunc {
	return client.NewShellProgramFuncWithEnv(binary, &env)
}

func TestProtocol(t *testing.T) {
	secret := "pw-" + strings.Repeat("x", 12)
	file := filepath.Join(t.TempDir(), ".dockerconfigjson")
	auth := base64.StdEncoding.EncodeToString([]byte("robot:" + secret))
	if err := os.WriteFile(file, []byte(`{"auths":{"https://quay.io":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := program(map[string]string{"CGHISTORY_AUTH_CGR_DEV": "tok.en", "CGHISTORY_AUTH_FILE": file})

	c, err := client.Get(p, "cgr.dev")
	if err != nil || c.Username != "_token" || c.Secret != "tok.en" || c.ServerURL != "cgr.dev" {
		t.Fatalf("get cgr.dev = %+v, %v", c, err)
	}
	c, err = client.Get(p, "quay.io")
	if err != nil || c.Username != "robot" || c.Secret != secret {
		t.Fatalf("get quay.io = %+v, %v", c, err)
	}
	_, err = client.Get(p, "nowhere.example")
	if !credentials.IsErrCredentialsNotFound(err) {
		t.Fatalf("get unknown = %v, want docker's not-found error", err)
	}
	list, err := client.List(p)
	if err != nil || list["quay.io"] != "robot" || list["cgr.dev"] != "_token" {
		t.Fatalf("list = %v, %v", list, err)
	}
	err = client.Store(p, &credentials.Credentials{ServerURL: "cgr.dev", Username: "u", Secret: "s"})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("store = %v", err)
	}
	if err := client.Erase(p, "cgr.dev"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("erase = %v", err)
	}
	out, err := exec.Command(binary, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "docker-credential-cghistory ") {
		t.Fatalf("version = %q, %v", out, err)
	}
}

func TestMalformedInputNamesTheSourceNotTheSecret(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cfg.json")
	if err := os.WriteFile(file, []byte(`{"auths": {"r.io": "hunter2-secret`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "get")
	cmd.Env = append(os.Environ(), "CGHISTORY_AUTH_FILE="+file)
	cmd.Stdin = strings.NewReader("r.io\n")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("succeeded")
	}
	if !strings.Contains(string(out), file) || strings.Contains(string(out), "hunter2") {
		t.Errorf("output = %q", out)
	}
}
