package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/policy"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/google/go-containerregistry/pkg/name"
	"gotest.tools/v3/assert"
)

// plugins is config.json's plugins.cghistory section.
type plugins map[string]string

func (p plugins) PluginConfig(plugin, key string) (string, bool) {
	if plugin != config.PluginName {
		return "", false
	}
	v, ok := p[key]
	return v, ok
}

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// repo is a repository holding .cgpin.yaml with policy, and its
// subdirectory "deploy".
func repo(t *testing.T, policyFile string) (dir, file string) {
	dir = t.TempDir()
	assert.NilError(t, os.MkdirAll(filepath.Join(dir, ".git"), 0o755))
	assert.NilError(t, os.MkdirAll(filepath.Join(dir, "deploy"), 0o755))
	file = filepath.Join(dir, policy.FileName)
	assert.NilError(t, os.WriteFile(file, []byte(policyFile), 0o644))
	assert.NilError(t, os.Chmod(file, 0o644))
	return dir, file
}

func env(docker plugins, vars map[string]string) config.Env {
	return config.Env{Docker: docker, Getenv: func(k string) string { return vars[k] }, Now: func() time.Time { return now }}
}

func given(flags ...string) func(string) bool {
	return func(f string) bool { return slices.Contains(flags, f) }
}

func upstream(t *testing.T, m ref.MirrorMap, repo string) string {
	r, err := name.NewRepository(repo)
	assert.NilError(t, err)
	up, ok := m.Upstream(r)
	if !ok {
		return ""
	}
	return up.String()
}

func TestResolvePinLayers(t *testing.T) {
	dir, file := repo(t, "update: true\ncooldown: 7d\njobs: 4\nkinds: [compose]\nignore-images: [example.com/*]\n"+
		"registry-map: [mirror.example.com/a=cgr.dev/from-file, mirror.example.com/b=cgr.dev/from-file]\nkey: keys.pub\n")
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "keys.pub"), []byte("k"), 0o644))
	docker := plugins{"namespace": "cgr.dev/from-config", "cache-max": "1GiB",
		"registry-map": "mirror.example.com/a=cgr.dev/from-config,mirror.example.com/c=cgr.dev/from-config"}
	flags := config.PinFlags{Cooldown: "1d", Jobs: 8, StaleAfter: "30d",
		Registry: config.RegistryFlags{Timeout: time.Minute, Mirrors: []string{"mirror.example.com/b=cgr.dev/from-flag"}}}
	cfg, err := config.ResolvePin([]string{filepath.Join(dir, "deploy")}, flags, given("cooldown", "registry-map"),
		env(docker, map[string]string{"CGHISTORY_CACHE_MAX": "2GiB"}))
	assert.NilError(t, err)

	// Flags win; the file fills what they did not give; defaults stay.
	assert.Equal(t, cfg.Cooldown, 24*time.Hour)
	assert.Equal(t, cfg.Update, true)
	assert.Equal(t, cfg.Jobs, 4)
	assert.DeepEqual(t, cfg.Kinds, []ref.FileKind{ref.Compose})
	assert.DeepEqual(t, cfg.Ignore, []string{"example.com/*"})
	assert.Equal(t, cfg.Verify.Key, filepath.Join(dir, "keys.pub"))
	assert.Equal(t, cfg.Verify.KeyIn, dir)
	assert.Equal(t, cfg.Common.Timeout, time.Minute)
	// The environment wins over config.json.
	assert.Equal(t, cfg.Common.Namespace, "cgr.dev/from-config")
	assert.Equal(t, cfg.Common.CacheMax, int64(2<<30))
	// Registry maps merge: the flag over the file over config.json, per prefix.
	assert.Equal(t, upstream(t, cfg.Common.Mirrors, "mirror.example.com/a/x"), "cgr.dev/from-file/x")
	assert.Equal(t, upstream(t, cfg.Common.Mirrors, "mirror.example.com/b/x"), "cgr.dev/from-flag/x")
	assert.Equal(t, upstream(t, cfg.Common.Mirrors, "mirror.example.com/c/x"), "cgr.dev/from-config/x")

	// --show-config: every key of the policy file, with its source.
	sources := map[string]string{}
	for _, v := range cfg.Policy {
		sources[v.Key] = v.Value + " | " + v.Source
	}
	assert.Equal(t, sources["cooldown"], "1d | --cooldown")
	assert.Equal(t, sources["jobs"], "4 | "+file+":3")
	assert.Equal(t, sources["registry-map"], "mirror.example.com/a=cgr.dev/from-file, mirror.example.com/b=cgr.dev/from-file, mirror.example.com/b=cgr.dev/from-flag | --registry-map")
	assert.Equal(t, sources["stale-after"], "30d | default")
	assert.Equal(t, sources["platform"], " | default")
}

// Every key the policy file takes is bound to a field, once, in the
// order --show-config lists them: a key added to the parser alone fails here.
func TestPolicyKeysAreBound(t *testing.T) {
	cfg, err := config.ResolvePin([]string{t.TempDir()}, config.PinFlags{ShowConfig: true}, nil, env(nil, nil))
	assert.NilError(t, err)
	var keys []string
	for _, v := range cfg.Policy {
		keys = append(keys, v.Key)
	}
	assert.DeepEqual(t, keys, policy.Keys())
}

func TestResolvePinChecks(t *testing.T) {
	dir := t.TempDir()
	resolve := func(f config.PinFlags) (*config.Pin, error) {
		if f.Jobs == 0 {
			f.Jobs = 8
		}
		return config.ResolvePin([]string{dir}, f, nil, env(nil, nil))
	}
	cfg, err := resolve(config.PinFlags{At: "2d"})
	assert.NilError(t, err)
	assert.Equal(t, cfg.At, now.Add(-48*time.Hour))
	assert.Assert(t, cfg.Update, "--at implies --update")
	cfg, err = resolve(config.PinFlags{Fixes: []string{"CVE-2024-0001"}})
	assert.NilError(t, err)
	assert.Assert(t, cfg.Update && cfg.NeedsChooser(), "--fixes is an update policy")
	cfg, err = resolve(config.PinFlags{Update: true, Cooldown: "3d", CooldownStrict: true})
	assert.NilError(t, err)
	assert.Assert(t, !cfg.NeedsChooser(), "a strict cooldown needs no chooser")
	// Read only with --outdated, as before.
	_, err = resolve(config.PinFlags{StaleAfter: "soon"})
	assert.NilError(t, err)

	for _, tc := range []struct {
		flags config.PinFlags
		want  string
	}{
		{config.PinFlags{At: "soon"}, "--at: invalid time"},
		{config.PinFlags{Cooldown: "3x"}, "--cooldown: invalid duration"},
		{config.PinFlags{Platform: "arm64"}, `--platform "arm64": want os/arch`},
		{config.PinFlags{OnlyIfChanged: "size"}, "--only-if-changed=size: want packages or vulns"},
		{config.PinFlags{Fixes: []string{"openssl"}}, `--fixes "openssl": want a CVE or GHSA identifier`},
		{config.PinFlags{Fixes: []string{"CVE-1"}, At: "1d"}, "--fixes chooses the build itself"},
		{config.PinFlags{Ignore: []string{"["}}, `--ignore-image "["`},
		{config.PinFlags{Jobs: -1}, "--jobs must be at least 1"},
		{config.PinFlags{Kinds: []string{"terragrunt"}}, "terragrunt"},
		{config.PinFlags{Outdated: true, StaleAfter: "soon"}, "--stale-after: invalid duration"},
		{config.PinFlags{Outdated: true, StaleAfter: "30d", MaxAge: "old"}, "--max-age: invalid duration"},
	} {
		_, err := resolve(tc.flags)
		assert.ErrorContains(t, err, tc.want)
	}
	// --show-config shows what was given, checked or not.
	cfg, err = resolve(config.PinFlags{ShowConfig: true, Cooldown: "3x"})
	assert.NilError(t, err)
	assert.Assert(t, slices.Contains(cfg.Policy, config.Value{Key: "cooldown", Value: "3x", Source: "default"}), "%v", cfg.Policy)
}

func TestResolveCommonErrors(t *testing.T) {
	_, err := config.ResolveCommon(config.RegistryFlags{}, env(plugins{"cache-max": "lots"}, nil))
	assert.ErrorContains(t, err, "cache size bound (CGHISTORY_CACHE_MAX or plugins.cghistory.cache-max)")
	_, err = config.ResolveCommon(config.RegistryFlags{}, env(plugins{"registry-map": "nonsense"}, nil))
	assert.ErrorContains(t, err, "config.json plugins.cghistory.registry-map")
	_, err = config.ResolveCommon(config.RegistryFlags{Mirrors: []string{"x"}}, env(nil, nil))
	assert.ErrorContains(t, err, "--registry-map")
}

func TestResolveDiffAndHistory(t *testing.T) {
	d, err := config.ResolveDiff("a", "b", config.DiffFlags{Source: "auto", Vulns: "secdb", Platform: "linux/arm64"},
		env(nil, map[string]string{"CGHISTORY_SECDB": "http://127.0.0.1:1/secdb"}))
	assert.NilError(t, err)
	assert.Equal(t, d.Options.Platform.Architecture, "arm64")
	assert.Assert(t, d.Options.PlatformSet)
	assert.Equal(t, d.Options.SecDBURL, "http://127.0.0.1:1/secdb")
	d, err = config.ResolveDiff("a", "", config.DiffFlags{Source: "auto", Vulns: "secdb", SecDB: "http://127.0.0.1:2/"},
		env(nil, map[string]string{"CGHISTORY_SECDB": "http://127.0.0.1:1/secdb"}))
	assert.NilError(t, err)
	assert.Equal(t, d.Options.SecDBURL, "http://127.0.0.1:2/", "--secdb wins over CGHISTORY_SECDB")
	assert.Assert(t, !d.Options.PlatformSet)
	for _, f := range []config.DiffFlags{{Source: "auto", Vulns: "nvd"}, {Source: "disk", Vulns: "none"},
		{Source: "auto", Vulns: "none", ExitOn: []string{"size"}}, {Source: "auto", Vulns: "none", Platform: "arm64"}} {
		_, err := config.ResolveDiff("a", "", f, env(nil, nil))
		_, usage := err.(config.UsageError)
		assert.Assert(t, usage, "%+v: %v", f, err)
	}
	_, err = config.ResolveDiff("a", "", config.DiffFlags{Source: "auto", Vulns: "none"}, env(plugins{"cache-max": "lots"}, nil))
	_, usage := err.(config.UsageError)
	assert.Assert(t, err != nil && !usage, "a bad setting beneath the flags is no usage error: %v", err)

	h, err := config.ResolveHistory("nginx", config.HistoryFlags{Since: "2d", Platform: "linux/amd64", Quiet: true},
		env(plugins{"namespace": "cgr.dev/acme.com"}, nil))
	assert.NilError(t, err)
	assert.Equal(t, h.Request.Since, now.Add(-48*time.Hour))
	assert.Assert(t, h.Platforms && h.Request.Platforms, "--platform implies --platforms, even with -q")
	assert.Equal(t, h.Common.Namespace, "cgr.dev/acme.com")
	h, err = config.ResolveHistory("nginx", config.HistoryFlags{Platforms: true, Quiet: true}, env(nil, nil))
	assert.NilError(t, err)
	assert.Assert(t, !h.Request.Platforms, "-q resolves no platforms")
	_, err = config.ResolveHistory("nginx", config.HistoryFlags{Last: -1}, env(nil, nil))
	assert.ErrorContains(t, err, "--last must not be negative")
	_, err = config.ResolveHistory("nginx", config.HistoryFlags{Since: "1d", Until: "2d"}, env(nil, nil))
	assert.Assert(t, err != nil && strings.Contains(err.Error(), "is after --until"), "%v", err)
}

// TestSafeDirectory: a repository another user owns (a root job on a CI
// container's checkout) has its policy file refused unless the
// environment or config.json lists it, as git's safe.directory; a policy
// file cannot list itself.
func TestSafeDirectory(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("giving a repository to another user needs root")
	}
	dir, file := repo(t, "update: true\nsafe-directory: \"*\"\n")
	const nobody = 65534
	assert.NilError(t, os.Chown(dir, nobody, nobody))
	assert.NilError(t, os.Chown(file, nobody, nobody))
	resolve := func(e config.Env) (*config.Pin, error) {
		return config.ResolvePin([]string{filepath.Join(dir, "deploy")}, config.PinFlags{Jobs: 8}, nil, e)
	}
	_, err := resolve(env(nil, nil))
	assert.ErrorContains(t, err, "owned by another user (uid 65534)")
	for _, e := range []config.Env{env(nil, map[string]string{policy.SafeDirectoryEnv: dir}), env(plugins{"safe-directory": dir}, nil)} {
		// safe-directory is no policy key, so the file is now read and
		// refused for that.
		_, err = resolve(e)
		assert.ErrorContains(t, err, policy.FileName+":2: unknown key")
	}
	assert.NilError(t, os.WriteFile(file, []byte("update: true\n"), 0o644))
	cfg, err := resolve(env(plugins{"safe-directory": "/elsewhere"}, map[string]string{policy.SafeDirectoryEnv: dir}))
	assert.NilError(t, err)
	assert.Equal(t, cfg.Update, true)
	_, err = resolve(env(plugins{"safe-directory": dir}, map[string]string{policy.SafeDirectoryEnv: "/elsewhere"}))
	assert.ErrorContains(t, err, "owned by another user") // the environment wins over config.json, as elsewhere
}
