package registry

import (
	"context"
	"fmt"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
)

// Keychain finds credentials exactly as the docker CLI does, from a loaded
// config.json: DOCKER_AUTH_CONFIG, credHelpers, credsStore, then auths.
// Credential helpers run through their standard protocol (docker/cli's
// credentials package).
type Keychain struct {
	Config *configfile.ConfigFile
}

// Credentials is what a registry lookup found.
type Credentials struct {
	Auth   authn.AuthConfig
	Source string // "DOCKER_AUTH_CONFIG", "credHelpers:NAME", "credsStore:NAME", "auths" or "" (anonymous)
	// LookupErr is why reading credentials failed (a broken credential
	// helper); the lookup then counts as anonymous.
	LookupErr error
}

// Anonymous reports whether no credentials were found.
func (c Credentials) Anonymous() bool { return c.Auth == (authn.AuthConfig{}) }

// Resolve implements authn.Keychain.
func (k Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

// ResolveContext implements authn.ContextKeychain.
func (k Keychain) ResolveContext(_ context.Context, target authn.Resource) (authn.Authenticator, error) {
	c, err := k.Lookup(target.RegistryStr())
	if err != nil {
		return nil, err
	}
	if c.Anonymous() {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(c.Auth), nil
}

// Lookup returns the credentials docker would use for registry host.
func (k Keychain) Lookup(host string) (Credentials, error) {
	if k.Config == nil {
		return Credentials{}, nil
	}
	key := ref.AuthKey(host)
	ac, err := k.Config.GetAuthConfig(key)
	if err != nil {
		return Credentials{}, fmt.Errorf("read credentials for %s: %w", host, err)
	}
	c := Credentials{Auth: authn.AuthConfig{
		Username:      ac.Username,
		Password:      ac.Password,
		Auth:          ac.Auth,
		IdentityToken: ac.IdentityToken,
		RegistryToken: ac.RegistryToken,
	}}
	if !c.Anonymous() {
		c.Source = k.source(key)
	}
	return c, nil
}

// source names where docker's lookup for key found its credentials.
func (k Keychain) source(key string) string {
	if envAuthConfigured(key) {
		return "DOCKER_AUTH_CONFIG"
	}
	if h, ok := k.Config.CredentialHelpers[key]; ok && h != "" {
		return "credHelpers:" + h
	}
	if k.Config.CredentialsStore != "" {
		return "credsStore:" + k.Config.CredentialsStore
	}
	return "auths"
}
