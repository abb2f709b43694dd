package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestYAMLBombThroughDocker: cgpin refuses a 1.2 KB Compose file of nested
// merge keys (a "billion laughs" of 16^12 mappings) and a manifest nested
// 1,001 levels deep, naming each file and the limit, where it used to
// hang. The run is killed (with the plugin) if it outlives a minute.
func TestYAMLBombThroughDocker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var bomb strings.Builder
	bomb.WriteString("x-l0: &l0 {restart: always}\n")
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&bomb, "x-l%d: &l%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), 16), ","))
	}
	bomb.WriteString("services:\n  web:\n    <<: *l12\n    image: nginx:1.27\n")
	deep := "apiVersion: v1\nkind: Pod\nspec: " + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + "\n"
	for name, src := range map[string]string{"compose.yaml": bomb.String(), "deploy.yaml": deep} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d := newDockerEnv(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "cgpin", "--check", dir)
	cmd.Env = d.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // docker and the plugin, killed together
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cgpin --check still running after a minute (killed)\n%s", stderr.String())
	}
	if err == nil {
		t.Fatalf("cgpin --check succeeded\n%s", stderr.String())
	}
	for _, want := range []string{
		filepath.Join(dir, "compose.yaml"), "expands to more than 1000000 nodes through aliases and merge keys",
		filepath.Join(dir, "deploy.yaml"), "nests deeper than 1000 levels",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
