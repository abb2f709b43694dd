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

.PHONY: all build install uninstall test test-long unit e2e bench fuzz lint clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/docker-cghistory ./plugin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/docker-credential-cghistory ./credhelper

install: build
	DOCKER_CONFIG='$(DOCKER_CONFIG)' BINDIR='$(BINDIR)' BIN=$(BIN) scripts/install.sh

uninstall:
	DOCKER_CONFIG='$(DOCKER_CONFIG)' BINDIR='$(BINDIR)' scripts/install.sh --uninstall

test: lint
	$(GO) test -race -count=1 -timeout 25m ./...

# Genuinely slow cases at their real size (the 12 MiB SBOM), besides make test.
test-long:
	CGHISTORY_TEST_LONG=1 $(GO) test -race -count=1 -timeout 40m ./...

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /plugin)

e2e:
	$(GO) test -count=1 ./plugin

bench:
	scripts/bench.sh $(BENCHTIME)

fuzz:
	scripts/fuzz.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l . 2>&1); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf $(BIN)
