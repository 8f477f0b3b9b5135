#!/usr/bin/env bash
# Builds the release binaries: static (CGO_ENABLED=0), stripped, one per
# target, for edge (the board) and export (the workstation), and prints
# their sizes. One command per target:
#
#   ./scripts/build-release.sh               all targets into bin/release/
#   ./scripts/build-release.sh arm64         Pi 3, 4, 5, Zero 2 W, 400, CM4/CM5 (64-bit OS)
#   ./scripts/build-release.sh armv6         Pi Zero / Zero W, Pi 1 (ARMv6, no NEON)
#   ./scripts/build-release.sh armv7         Pi 2, and Pi 3/4/Zero 2 W on a 32-bit OS
#   ./scripts/build-release.sh amd64         x86-64 Linux hosts
#   OUT=/tmp/rel ./scripts/build-release.sh  another output folder
#
# Output: $OUT/edge-linux-<target>, $OUT/export-linux-<target>, SHA256SUMS.
# `edge board --list` says which target each board wants.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bin/release}
all=(arm64 armv6 armv7 amd64)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
cmds=(edge export)
mkdir -p "$out"

env_for() {
  case $1 in
    arm64) echo "GOARCH=arm64" ;;
    armv6) echo "GOARCH=arm GOARM=6" ;;
    armv7) echo "GOARCH=arm GOARM=7" ;;
    amd64) echo "GOARCH=amd64" ;;
    *) echo "build-release: unknown target $1 (want one of: ${all[*]})" >&2; return 1 ;;
  esac
}

built=()
failed=0
for t in "${targets[@]}"; do
  e=$(env_for "$t")
  for c in "${cmds[@]}"; do
    [ -d "cmd/$c" ] || continue
    bin="$out/$c-linux-$t"
    # -trimpath: no build paths in the binary; -s -w: no symbol table or
    # DWARF (panic traces keep function names and lines).
    if env CGO_ENABLED=0 GOOS=linux $e go build -trimpath -ldflags "-s -w" -o "$bin.tmp" "./cmd/$c"; then
      mv "$bin.tmp" "$bin"
      built+=("$bin")
    else
      rm -f "$bin.tmp"
      echo "build-release: $c for $t failed" >&2
      failed=1
    fi
  done
done

# Static check: no program interpreter (dynamic loader) in any binary.
for b in "${built[@]}"; do
  if readelf -l "$b" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    echo "build-release: $b is dynamically linked" >&2
    failed=1
  fi
done

printf '\n%-28s %10s  %s\n' "binary" "size" "target"
for b in "${built[@]}"; do
  size=$(stat -c %s "$b")
  settings=$(go version -m "$b" | awk '$1=="build" && $2 ~ /^(CGO_ENABLED|GOARCH|GOARM)=/ {printf "%s ", $2}')
  printf '%-28s %7.1f MB  %s\n' "$(basename "$b")" "$(awk -v s="$size" 'BEGIN{print s/1048576}')" "$settings"
done
( cd "$out" && sha256sum edge-linux-* export-linux-* > SHA256SUMS 2>/dev/null ) || true
exit $failed
