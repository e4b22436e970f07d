# Sluice build. `make run` starts a single-node broker; `make test` runs the
# whole test suite. Every tool the targets need is installed by the targets.

GO          ?= go
BIN         := bin
TOOLS_CACHE ?= $(HOME)/.cache/sluice/bin
PROTOC_GEN_GO_VERSION := v1.36.12
CONSUL_VERSION        := v1.20.2
FUZZTIME    ?= 10s
export PATH := $(CURDIR)/$(BIN):$(TOOLS_CACHE):$(PATH)

PROTO_FILES := $(wildcard messages/*.proto)

.PHONY: all build run test test-unit test-integration fuzz bench proto verify consul kcat confluent-kafka iproute2 curl chromium protoc-tools clean

all: build

# --version of both binaries: the git tag (or "dev") and commit, linked in.
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS     := -X github.com/sluice-mq/sluice/internal/version.Version=$(VERSION) \
               -X github.com/sluice-mq/sluice/internal/version.Commit=$(COMMIT)

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/sluiced ./cmd/sluiced
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/sluice ./cmd/sluice

run: build
	./$(BIN)/sluiced

# Integration packages are the ones whose tests start real sluiced processes
# (they import cluster/clustertest). Their test process hosts a protoactor
# remote, whose graceful shutdown races inside protoactor itself under -race,
# so they run without the race detector; every other package runs with it.
INTEGRATION_PKGS = $(shell $(GO) list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... \
	| awk '/cluster\/clustertest( |$$)/ {print $$1}')
UNIT_PKGS = $(filter-out $(INTEGRATION_PKGS),$(shell $(GO) list ./...))

# The whole suite: unit tests with -race, then the integration tests, which
# start real sluiced processes (and a Consul dev agent for cluster tests).
test: consul kcat confluent-kafka iproute2 curl chromium
	$(GO) vet ./...
	SLUICE_REQUIRE_CONSUL=1 $(GO) test -race -count=1 -timeout 15m $(UNIT_PKGS)
	SLUICE_REQUIRE_CONSUL=1 $(GO) test -count=1 -timeout 15m $(INTEGRATION_PKGS)

test-unit: consul
	SLUICE_REQUIRE_CONSUL=1 $(GO) test -race -count=1 -timeout 15m $(UNIT_PKGS)

test-integration: consul kcat confluent-kafka iproute2 curl chromium
	SLUICE_REQUIRE_CONSUL=1 $(GO) test -count=1 -timeout 15m $(INTEGRATION_PKGS)

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./storage/... ./benchmarks/...
	$(GO) test -run '^$$' -bench 'BenchmarkProducerRecord|BenchmarkConsumerDecode' -benchmem -count 1 ./client

# kcat (librdkafka's command-line client) drives the Kafka listener's
# tests; it comes from Debian.
kcat:
	@command -v kcat >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq kcat; }

# curl waits for the nodes' /healthz in the docs/CLUSTER.md quick start,
# which a test runs as written.
curl:
	@command -v curl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq curl; }

# ip(8) makes the network namespaces of the cross-host client test.
iproute2:
	@command -v ip >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq iproute2; }

# Chromium (headless, driven by chromedp) runs the web console's browser
# tests; it comes from Debian.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# confluent-kafka-python (on librdkafka) drives the Kafka listener's Python
# test; it comes from Debian, for the system python3.
confluent-kafka:
	@{ /usr/bin/python3 -c 'import confluent_kafka' || python3 -c 'import confluent_kafka'; } >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq python3-confluent-kafka; }

# protoc comes from Debian; protoc-gen-go is pinned to the protobuf runtime.
protoc-tools:
	@command -v protoc >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq protobuf-compiler; }
	@test -x $(TOOLS_CACHE)/protoc-gen-go && $(TOOLS_CACHE)/protoc-gen-go --version | grep -q $(PROTOC_GEN_GO_VERSION:v%=%) || \
	  GOBIN=$(TOOLS_CACHE) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

proto: protoc-tools
	cd messages && protoc -I . --plugin=protoc-gen-go=$(TOOLS_CACHE)/protoc-gen-go \
	  --go_out=. --go_opt=paths=source_relative $(notdir $(PROTO_FILES))

verify: proto
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum
	git diff --exit-code messages/

# The Consul agent for cluster tests: one on PATH wins; otherwise it is built
# once from the pinned tools module and cached outside the checkout, so fresh
# clones on the same machine reuse it.
consul:
	@mkdir -p $(BIN)
	@if [ -x $(BIN)/consul ]; then :; \
	elif [ -x $(TOOLS_CACHE)/consul ]; then ln -sf $(TOOLS_CACHE)/consul $(BIN)/consul; \
	elif command -v consul >/dev/null 2>&1; then ln -sf "$$(command -v consul)" $(BIN)/consul; \
	else \
	  echo "building consul $(CONSUL_VERSION) (takes several minutes once)"; \
	  mkdir -p $(TOOLS_CACHE); \
	  cd tools/consul && GONOSUMDB=github.com/hashicorp/consul/envoyextensions,github.com/hashicorp/consul/troubleshoot \
	    $(GO) build -o $(TOOLS_CACHE)/consul github.com/hashicorp/consul && cd ../.. && \
	  ln -sf $(TOOLS_CACHE)/consul $(BIN)/consul; \
	fi
	@$(BIN)/consul version | head -1

clean:
	rm -rf $(BIN)
