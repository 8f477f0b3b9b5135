#!/bin/sh
# Writes testdata/qdq/gen/: QDQ int8 ResNet-18/50 in ONNX Runtime's
# quantize_static style, single-operator QDQ models, inputs, and ONNX
# Runtime 1.30's outputs and optimized graphs (see make_fixtures.py and
# run_ort.js), then the amd64 engine's output hashes for the cross-
# architecture golden test (gen/golden.json, only on amd64).
#
# Needs Debian's /usr/bin/python3 (python3-torch, python3-onnx), node and npm;
# builds testdata/torchvision/gen first. Does nothing when gen/manifest.json
# is newer than every input; safe to run from concurrent test processes
# (flock). Idempotent: fixed seeds, same files every run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
gen="$here/gen"
"$repo/testdata/torchvision/make_fixtures.sh"
"$repo/scripts/install-ort.sh"
mkdir -p "$gen"
exec 9>"$gen/.lock"
flock 9
stamp="$gen/manifest.json"
tv="$repo/testdata/torchvision/gen/manifest.json"
if [ -f "$stamp" ] && [ "$stamp" -nt "$here/make_fixtures.py" ] && [ "$stamp" -nt "$here/run_ort.js" ] &&
   [ "$stamp" -nt "$here/make_fixtures.sh" ] && [ "$stamp" -nt "$tv" ] &&
   { [ "$(go env GOARCH)" != amd64 ] || [ -f "$gen/golden.json" ]; }; then
	exit 0
fi
rm -f "$stamp" "$gen/golden.json"
rm -rf "$gen/ort_raw"
/usr/bin/python3 "$here/make_fixtures.py" models
NODE_PATH="$repo/.cache/ort/node_modules" node "$here/run_ort.js" "$gen"
/usr/bin/python3 "$here/make_fixtures.py" finish
rm -rf "$gen/ort_raw"
if [ "$(go env GOARCH)" = amd64 ]; then
	(cd "$repo" && go test ./runtime -run '^TestGolden$' -count=1 -args -golden.record)
fi
echo "make_fixtures.sh: wrote $gen" >&2
