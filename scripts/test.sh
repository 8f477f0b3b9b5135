#!/usr/bin/env bash
# The test command: sets up a fresh machine (Debian packages, ONNX Runtime
# from npm), generates the fixtures with Debian's torch and onnx, and runs
# every test: native, pure Go, arm64 and arm under qemu, bounded fuzzing,
# cross-builds. Run from anywhere; takes ~20-30 minutes on 2 cores.
#
#   ./scripts/test.sh            everything
#   ./scripts/test.sh quick      native tests only (fixtures must exist)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
export GOFLAGS=${GOFLAGS:-}
step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }

if [ "$mode" = all ]; then
  step setup
  ./scripts/setup.sh

  step fixtures
  for s in $(ls */testdata/make_fixtures.sh internal/*/testdata/make_fixtures.sh \
                runtime/*/testdata/make_fixtures.sh testdata/*/make_fixtures.sh 2>/dev/null); do
    echo "--- $s"
    "$s"
  done
fi

step "machine"
# The CPU decides which kernels run here (and which ONNX Runtime runs):
# printed so that a log from another machine can be read.
grep -m1 'model name' /proc/cpuinfo || true
echo "x86 flags: $(grep -m1 -o -w -E 'avx2|avx512f|avx512bw|avx512_vnni|avx_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ')"
go run ./cmd/edge board | grep -E '^(cpu|this binary):' || true

step "gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
go vet ./...

step "kernel generators: checked-in assembly up to date; arm64 encodings against llvm-mc"
gen=$(mktemp -d)
(cd runtime/internal/qkernel/_gen && go vet . && go run . -out "$gen/conv_amd64.s" -stubs "$gen/conv_stubs_amd64.go" -pkg qkernel)
for f in conv_amd64.s conv_stubs_amd64.go; do
  # The generator's command line is in the header; compare the rest.
  if ! diff <(tail -n +2 "$gen/$f") <(tail -n +2 "runtime/internal/qkernel/$f") >/dev/null; then
    echo "runtime/internal/qkernel/$f differs from what _gen generates: run go generate ./runtime/internal/qkernel"
    exit 1
  fi
done
rm -rf "$gen"
(cd runtime/internal/qkernel/_gen/arm64 && go vet ./... && go test -count=1 ./...)

step "go test (native)"
go test -count=1 ./...
[ "$mode" = quick ] && exit 0

step "go test -tags purego (the plain-Go kernels on this machine)"
go test -count=1 -short -tags purego ./runtime/...

step "go test -race (runtime, camera)"
go test -count=1 -race -short ./runtime/ ./internal/camera/

./scripts/test-cross.sh
./scripts/fuzz.sh 20s

step "release builds"
./scripts/build-release.sh
echo
echo "all tests passed"
