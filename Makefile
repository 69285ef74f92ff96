# Larch build, test and benchmark entry points. GOTOOLCHAIN=local keeps the
# build on the installed Go; GOFLAGS keeps test binaries from depending on VCS.
export GOTOOLCHAIN := local
GO ?= go
BIN := bin

.PHONY: all build run test bench lint fmt clean

all: build

build:
	$(GO) build -o $(BIN)/larch ./cmd/larch
	$(GO) build -o $(BIN)/larchctl ./cmd/larchctl

# A single-member server with etcd's defaults: client port 2379 on localhost,
# data in default.larch.
run: build
	./$(BIN)/larch

test: lint
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -race -count=1 -timeout 10m ./cluster/... ./tree/... ./v2api/... ./v3api/...

bench: build
	$(GO) run ./cmd/larchbench
	$(GO) run ./cmd/larchbench --members 3 put range

lint:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w .

clean:
	rm -rf $(BIN)
