// Command docker-credential-cghistory is a read-only docker credential
// helper. It serves credentials from CGHISTORY_AUTH_<NAME> variables and from
// docker-config files listed in CGHISTORY_AUTH_FILE, so CI jobs and
// Kubernetes pods can pull without writing secrets to ~/.docker/config.json.
// Configure it with "credHelpers": {"cgr.dev": "cghistory"} or
// "credsStore": "cghistory".
package main

import (
	"errors"

	"github.com/docker-cghistory/docker-cghistory/internal/envauth"
	"github.com/docker/docker-credential-helpers/credentials"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// helper adapts envauth.Sources to the credential-helper protocol.
type helper struct {
	sources envauth.Sources
}

var errReadOnly = errors.New("docker-credential-cghistory is read-only and never stores secrets: " +
	"set CGHISTORY_AUTH_<NAME>=\"host=HOST USERNAME:SECRET\" or list docker config files in CGHISTORY_AUTH_FILE instead")

func (helper) Add(*credentials.Credentials) error { return errReadOnly }

func (helper) Delete(string) error { return errReadOnly }

func (h helper) Get(serverURL string) (string, string, error) {
	c, err := h.sources.Get(serverURL)
	if errors.Is(err, envauth.ErrNotFound) {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	if err != nil {
		return "", "", err
	}
	return c.Username, c.Secret, nil
}

func (h helper) List() (map[string]string, error) { return h.sources.List() }

func main() {
	credentials.Name = "docker-credential-cghistory"
	credentials.Package = "github.com/docker-cghistory/docker-cghistory"
	credentials.Version = version
	credentials.Serve(helper{})
}
