#!/bin/sh
# Writes testdata/qdq/gen/: QDQ int8 ResNet-18/50 in ONNX Runtime's
# quantize_static style, single-operator QDQ models, inputs, the
# Fashion-MNIST test set for the project's int8 default model, and ONNX
# Runtime 1.30's outputs and optimized graphs (see make_fixtures.py and
# run_ort.js), then the amd64 engine's output hashes for the cross-
# architecture golden test (gen/golden.json, only on amd64).
#
# Needs Debian's /usr/bin/python3 (python3-torch, python3-onnx), node and npm,
# and dataset-fashion-mnist; builds testdata/torchvision/gen first (and the
# default model when internal/defaultmodel has none). Does nothing when gen/manifest.json
# is newer than every input; safe to run from concurrent test processes
# (flock). Idempotent: fixed seeds, same files every run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
gen="$here/gen"
"$repo/testdata/torchvision/make_fixtures.sh"
"$repo/scripts/install-ort.sh"
default_model="$repo/internal/defaultmodel/fashion_int8.onnx"
[ -f "$default_model" ] || "$repo/testdata/fashion/make_default_model.sh"
mkdir -p "$gen"
exec 9>"$gen/.lock"
flock 9
stamp="$gen/manifest.json"
tv="$repo/testdata/torchvision/gen/manifest.json"
if [ -f "$stamp" ] && [ "$stamp" -nt "$here/make_fixtures.py" ] && [ "$stamp" -nt "$here/run_ort.js" ] &&
   [ "$stamp" -nt "$here/make_fixtures.sh" ] && [ "$stamp" -nt "$tv" ] && [ "$stamp" -nt "$default_model" ] &&
   { [ "$(go env GOARCH)" != amd64 ] || [ -f "$gen/golden.json" ]; }; then
	exit 0
fi
rm -f "$stamp" "$gen/golden.json"
rm -rf "$gen/ort_raw"
# The default model rebuilt by its recipe (testdata/fashion/make_default_model.sh:
# mse, calibrated at 28 and 56 pixels, pair-safe weights, which ONNX
# Runtime's x86 u8 x s8 kernels compute exactly), for the comparison with
# ONNX Runtime.
mkdir -p "$gen/fashion"
fashion="$repo/testdata/fashion"
set -- $(/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(repr(m["mean"][0]), repr(m["std"][0]), "%dx%d" % tuple(m["train_size"]))' "$fashion/model.json")
(cd "$repo" &&
	go run ./cmd/export --quiet --labels "$fashion/labels.txt" --mean "$1" --std "$2" --input-size "$3" \
		-o "$gen/fashion/fashion_float.onnx" "$fashion/model.pth" &&
	go run ./convert/internal/int8cmd --calib "${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}/train-images-idx3-ubyte.gz" \
		--calib-count 2000 --calib-size 28,56 --method mse --pair-safe --report "$gen/fashion/fashion_int8_rebuilt.report.json" \
		-o "$gen/fashion/fashion_int8_rebuilt.onnx" "$gen/fashion/fashion_float.onnx")
/usr/bin/python3 "$here/make_fixtures.py" models
NODE_PATH="$repo/.cache/ort/node_modules" node "$here/run_ort.js" "$gen"
/usr/bin/python3 "$here/make_fixtures.py" finish
rm -rf "$gen/ort_raw"
if [ "$(go env GOARCH)" = amd64 ]; then
	(cd "$repo" && go test ./runtime -run '^TestGolden$' -count=1 -args -golden.record)
fi
echo "make_fixtures.sh: wrote $gen" >&2
