package registry

import (
	"encoding/json"
	"os"

	"github.com/docker/cli/cli/config/configfile"
)

// envAuthConfigured reports whether DOCKER_AUTH_CONFIG holds an entry for key,
// in which case docker/cli uses it before any other source.
func envAuthConfigured(key string) bool {
	v := os.Getenv(configfile.DockerEnvConfigKey)
	if v == "" {
		return false
	}
	var cfg struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if json.Unmarshal([]byte(v), &cfg) != nil {
		return false
	}
	for _, k := range []string{key, "https://" + key, "http://" + key} {
		if _, ok := cfg.Auths[k]; ok {
			return true
		}
	}
	return false
}
