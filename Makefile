# simdmlp: the two commands a newcomer needs are `make train` and `make test`.
GO ?= go
QEMU ?= qemu-aarch64-static
DATA := /usr/share/datasets/fashion-mnist

.PHONY: train paper test test-amd64 test-purego test-race test-arm64 check-generated generate bench benchcmp compare-pytorch data

# The study's default run (SGD, batch 16, 60 epochs); outputs under out/.
train: data
	$(GO) run ./train -opt sgd -batch 16

# The study's six runs, the combined figure and results.md.
paper: data
	$(GO) run ./train -paper

# Install Debian's Fashion-MNIST package when the data is missing and we can.
data:
	@if [ ! -d $(DATA) ] && [ -z "$$SIMDMLP_DATA" ] && [ ! -d data/fashion-mnist ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; fi

test: test-amd64 test-purego test-race test-arm64 check-generated
	@echo "make test: all passed"

test-amd64:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) test -count=1 ./...

test-purego:
	$(GO) vet -tags purego ./...
	$(GO) test -count=1 -short -tags purego ./...

test-race:
	$(GO) test -count=1 -short -race ./kernels ./mlp

test-arm64:
	GOARCH=arm64 $(GO) vet ./...
	GOARCH=arm64 $(GO) test -count=1 -short -exec $(QEMU) ./...
	GOARCH=arm64 $(GO) test -count=1 -short -tags purego -exec $(QEMU) ./kernels

# The committed assembly must equal a fresh regeneration.
check-generated:
	cd asm && $(GO) vet ./... && $(GO) test -count=1 ./...

# Regenerate every assembly file (asm/gemm, asm/elementwise, asm/neon).
generate:
	GOARCH=amd64 $(GO) generate ./kernels
	cd asm && $(GO) run ./neon -out ../kernels/gemm_arm64.s && $(GO) run ./neonelem

bench:
	$(GO) test -timeout 0 -run '^$$' -bench . -benchmem -count 1 ./kernels ./mlp ./bench

# purego (generic Go) against the assembly paths, through benchstat.
benchcmp:
	mkdir -p out
	$(GO) test -run '^$$' -bench 'Gemm/|TrainStep' -benchmem -count 5 -tags purego ./kernels ./mlp | sed 's,/generic,,' > out/bench-purego.txt
	SIMDMLP_KERNELS= $(GO) test -run '^$$' -bench 'Gemm/|TrainStep' -benchmem -count 5 ./kernels ./mlp | grep -v '/generic\|/avx2' | sed 's,/avx512,,;s,/neon,,' > out/bench-asm.txt
	$(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da out/bench-purego.txt out/bench-asm.txt

compare-pytorch: data
	bash bench/compare-pytorch.sh
