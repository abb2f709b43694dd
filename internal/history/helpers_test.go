package history_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// writeHelper installs a docker-credential-NAME script that answers "get"
// for host with user/secret, as a third-party credential helper would.
func writeHelper(t *testing.T, dir, helper, host, user, secret string) {
	t.Helper()
	script := fmt.Sprintf(`#!/bin/sh
case "$1" in
get)
  read server
  case "$server" in
  %[1]s|http://%[1]s|https://%[1]s) printf '{"ServerURL":"%%s","Username":"%[2]s","Secret":"%[3]s"}' "$server" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
  esac ;;
list) echo '{}' ;;
*) exit 1 ;;
esac
`, host, user, secret)
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+helper), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}
