#!/usr/bin/env bash
# Runs the Go benchmarks (against the in-process test registry with injected
# network latency) and prints time, HTTP requests and bytes per operation.
# Usage: scripts/bench.sh [BENCHTIME]   (default 20x)
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${1:-20x}
go test -run '^$' -bench . -benchtime "$benchtime" -benchmem ./internal/... ./plugin/ | tee "${BENCH_OUT:-/dev/null}"
