#!/usr/bin/env bash
# Runs the Go benchmarks against the in-process test registry with 20 ms of
# injected latency per request, reporting time, HTTP requests (req/op,
# token-req/op, digest-req/op, manifests/op), wire bytes and round trips;
# and docker's hot paths (metadata probe, build hook, warm completion) beside
# a bare docker/cli plugin's metadata probe (BenchmarkStartup*: x-bare).
# Peer tools (crane and frizbee for cgpin, syft for cgdiff) are installed from
# the Go module proxy when missing; their benchmarks run once (they are slow).
# Usage: scripts/bench.sh [BENCHTIME]   (default 20x)
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${1:-20x}
export PATH="$(go env GOPATH)/bin:$PATH"
command -v crane >/dev/null || GOFLAGS= go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
command -v frizbee >/dev/null || GOFLAGS= go install github.com/stacklok/frizbee@v0.1.7
# syft takes minutes to build; set BENCH_SYFT=1 to install it for the cgdiff comparison.
if [ -n "${BENCH_SYFT:-}" ] && ! command -v syft >/dev/null; then
	GOFLAGS= go install github.com/anchore/syft/cmd/syft@v1.52.0
fi
out=${BENCH_OUT:-/dev/null}
go test -run '^$' -bench '^Benchmark[^P]|^BenchmarkPin|^BenchmarkPlatforms' -benchtime "$benchtime" -benchmem ./internal/... ./plugin/... | tee "$out"
go test -run '^$' -bench '^BenchmarkPeer' -benchtime 1x ./internal/pin/ ./internal/imagediff/ | tee -a "$out"
