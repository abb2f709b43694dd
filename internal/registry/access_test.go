package registry

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/name"
)

// A registry with Basic auth and no token service: the check must send the
// credentials to /v2/ and believe the answer.
func TestCheckAccessBasicRegistry(t *testing.T) {
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte("u:right"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != good {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for pw, ok := range map[string]bool{"right": true, "wrong": false} {
		cf, _ := config.LoadFromReader(strings.NewReader(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte("u:"+pw)))))
		c := New(Options{Credentials: Keychain{Config: cf}, Attempts: 1})
		reg, _ := name.NewRegistry(host)
		a := c.CheckAccess(context.Background(), reg, nil)
		if a.OK != ok || a.Source != "auths" || strings.Contains(a.Detail, pw) {
			t.Errorf("password %s: %+v", pw, a)
		}
	}
}
