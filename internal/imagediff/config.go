package imagediff

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ConfigChange is one configuration field that differs.
type ConfigChange struct {
	Field             string
	Previous, Current string
}

// Config compares the runtime configuration: user, workdir, entrypoint,
// cmd, env, exposed ports, volumes, labels and stop signal.
func Config(from, to *v1.Config) []ConfigChange {
	if from == nil || to == nil {
		return nil
	}
	var out []ConfigChange
	add := func(field, a, b string) {
		if a != b {
			out = append(out, ConfigChange{Field: field, Previous: a, Current: b})
		}
	}
	add("User", from.User, to.User)
	add("WorkingDir", from.WorkingDir, to.WorkingDir)
	add("Entrypoint", list(from.Entrypoint), list(to.Entrypoint))
	add("Cmd", list(from.Cmd), list(to.Cmd))
	add("StopSignal", from.StopSignal, to.StopSignal)
	add("ExposedPorts", keys(from.ExposedPorts), keys(to.ExposedPorts))
	add("Volumes", keys(from.Volumes), keys(to.Volumes))
	// Env and labels: per variable, so a moved PATH is one line.
	envMap := func(env []string) map[string]string {
		m := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		return m
	}
	perKey(&out, "Env", envMap(from.Env), envMap(to.Env))
	perKey(&out, "Label", from.Labels, to.Labels)
	return out
}

func perKey(out *[]ConfigChange, field string, a, b map[string]string) {
	all := map[string]bool{}
	for k := range a {
		all[k] = true
	}
	for k := range b {
		all[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(all)) {
		va, okA := a[k]
		vb, okB := b[k]
		if va != vb || okA != okB {
			*out = append(*out, ConfigChange{Field: fmt.Sprintf("%s %s", field, k), Previous: present(va, okA), Current: present(vb, okB)})
		}
	}
}

func present(v string, ok bool) string {
	if !ok {
		return "(unset)"
	}
	return v
}

func list(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return fmt.Sprintf("%q", s)
}

func keys[V any](m map[string]V) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), " ")
}
