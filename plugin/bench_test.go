package main

import (
	"os/exec"
	"testing"
)

// BenchmarkMetadata is docker's plugin probe: `docker-cghistory
// docker-cli-plugin-metadata`, run for every `docker --help` and `docker info`.
func BenchmarkMetadata(b *testing.B) {
	for range b.N {
		out, err := exec.Command(pluginBinary, "docker-cli-plugin-metadata").Output()
		if err != nil || len(out) == 0 {
			b.Fatalf("metadata: %v", err)
		}
	}
}
