# docker-cghistory — build, install and test.
#   make install   build and install the plugin (and its cgdiff/cgpin names)
#   make test      vet, unit, integration and end-to-end tests

SHELL        := /bin/bash
GO           ?= go
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -s -w -X main.version=$(VERSION)
DOCKER_CONFIG ?= $(HOME)/.docker
BINDIR       ?= $(HOME)/.local/bin
BIN          := bin
FUZZTIME     ?= 30s
BENCHTIME    ?= 20x
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT   := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
# Release builds: every file carries the commit's time, so two builds of one
# commit give the same bytes. PLATFORMS= narrows them (e.g. linux/amd64).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
REVISION     ?= $(shell git rev-parse HEAD 2>/dev/null)
PLATFORMS    ?=
BASE_IMAGE   ?= cgr.dev/chainguard/static:latest
PUSH         ?=

.PHONY: all build install uninstall test test-long unit e2e bench fuzz lint clean dist image test-dist

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/docker-cghistory ./plugin/front
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/cghistory-hot ./plugin/front/hot
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/cghistory-full ./plugin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/docker-credential-cghistory ./credhelper

install: build
	DOCKER_CONFIG='$(DOCKER_CONFIG)' BINDIR='$(BINDIR)' BIN=$(BIN) scripts/install.sh

uninstall:
	DOCKER_CONFIG='$(DOCKER_CONFIG)' BINDIR='$(BINDIR)' scripts/install.sh --uninstall

# dist/: an archive per platform (the plugin's three binaries, the
# credential helper, LICENSE, README.md), a CycloneDX SBOM per archive and
# checksums.txt; reproducible.
dist:
	$(GO) run ./scripts/release dist -version '$(VERSION)' -epoch '$(SOURCE_DATE_EPOCH)' -platforms '$(PLATFORMS)' -out dist

# dist/image: the OCI image (linux platforms of dist/) on BASE_IMAGE, no
# docker daemon; PUSH=REF pushes it too.
image:
	$(GO) run ./scripts/release image -version '$(VERSION)' -revision '$(REVISION)' -epoch '$(SOURCE_DATE_EPOCH)' \
		-platforms '$(PLATFORMS)' -base '$(BASE_IMAGE)' -push '$(PUSH)' -out dist

# The full release build twice, in two clones at different paths: identical
# checksums. Slow (7 platforms, twice); make test checks one platform.
test-dist:
	CGHISTORY_TEST_DIST_ALL=1 $(GO) test -count=1 -timeout 60m -run 'TestDistReproducible' ./plugin

# The race detector sleeps a second as each race-built process exits (its
# atexit_sleep_ms, meant for goroutines still running at exit, which our
# tests do not leave); every test binary, and each one a test starts, paid it.
RACE_ENV     := GORACE='atexit_sleep_ms=0 $(GORACE)'

# How make test, test-long and unit run go test, each flag measured:
# -cpu 1: each test binary runs its goroutines on one P (GOMAXPROCS=1;
# t.Parallel tests still interleave), as go test -p runs two binaries side
# by side on two cores: under -race that cost a tenth less CPU (much of the
# race runtime's time here goes to page faults in its shadow memory), and
# the race detector finds a race whether or not the accesses ran at one
# instant. -trimpath: the compiled packages do not depend on where the
# clone is, so a fresh clone reuses the build cache instead of compiling
# the module again under -race. -ldflags=-w: no DWARF in the test binaries,
# a fifth less time linking the 27 of them (a quarter of make test's CPU);
# race reports and panics are symbolised from the runtime's own tables, not
# DWARF.
GOTEST       := $(RACE_ENV) $(GO) test -race -trimpath -ldflags=-w -cpu 1 -count=1

# ./plugin first: the longest package (end to end through docker) is then
# built and started first, and the others run beside it. -vet=off: lint has
# just run all of go vet (go test's vet is a subset of it).
test: lint
	$(GOTEST) -vet=off -timeout 25m ./plugin ./...

# The genuinely slow cases make test leaves out or shrinks: those that build
# the module or the release (archives built twice and compared, the SBOMs,
# the image, get.sh and the Action installing a release, the pre-commit
# hooks, the Action on a fresh runner running make install) and a 12 MiB
# SBOM attestation. .ci/run runs both.
LONG_TESTS   := ^(TestDistReproducible|TestReleaseImage|TestGetInstallsARelease|TestGetRefuses|TestGitHubActionRelease|TestPreCommitHooks|TestGitHubActionFreshRunner|TestLargeSBOMs)$$
test-long:
	CGHISTORY_TEST_LONG=1 $(GOTEST) -timeout 40m -run '$(LONG_TESTS)' ./plugin ./internal/inventory

unit:
	$(GOTEST) $$($(GO) list ./... | grep -v /plugin)

e2e:
	$(GO) test -count=1 ./plugin

bench:
	scripts/bench.sh $(BENCHTIME)

fuzz:
	scripts/fuzz.sh $(FUZZTIME)

# -trimpath for go vet and staticcheck (which keys its cache on the build
# IDs go list reports): their results are then cached whatever the clone's
# path. Without it a fresh clone analyses everything again: 13.7 s of vet
# and 20.8 s of staticcheck here, 1.1 and 1.9 s with it.
lint:
	@out=$$(gofmt -l . 2>&1); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -trimpath ./...
	GOFLAGS='-trimpath $(GOFLAGS)' $(GO) run $(STATICCHECK) ./...
	$(GO) run $(ACTIONLINT) .github/workflows/*.yml

clean:
	rm -rf $(BIN) dist
