# Flotilla's developer commands. `make test` is the test command CI runs (see .ci/run).
GO ?= go

.PHONY: test cluster-binaries check build

# Build (once, cached under the user's cache directory) the binaries of the local test clusters,
# with progress: a cold build takes about 10 minutes, longer than go test's default timeout.
cluster-binaries:
	$(GO) run ./cmd/flotilla fleet build

# All tests, under the race detector, against real local clusters.
test: cluster-binaries
	$(GO) test -race -count=1 -timeout 30m ./...

# Formatting, go.mod tidiness and static checks, as CI runs them.
check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# The binary, stamped with its commit (-buildvcs=true: `go run`, and GOFLAGS=-buildvcs=false,
# leave it out, and `flotilla --version` then only says "devel"); FLOTILLA_VERSION=v1.2.3 sets the
# version it prints.
BIN ?= bin/flotilla
FLOTILLA_VERSION ?=
build:
	$(GO) build -buildvcs=true $(if $(FLOTILLA_VERSION),-ldflags "-X main.version=$(FLOTILLA_VERSION)") -o $(BIN) ./cmd/flotilla
