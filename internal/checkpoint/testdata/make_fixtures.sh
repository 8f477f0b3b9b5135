#!/bin/sh
# Writes internal/checkpoint/testdata/gen/ with Debian's torch (/usr/bin/python3,
# python3-torch 1.13, python3-torchvision 0.14). Does nothing when
# gen/expected.json is newer than make_fixtures.py. Takes ~10 s, ~600 MB.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stamp="$here/gen/expected.json"
if [ -f "$stamp" ] && [ "$stamp" -nt "$here/make_fixtures.py" ] && [ "$stamp" -nt "$here/make_fixtures.sh" ]; then
	exit 0
fi
if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
	echo "make_fixtures.sh: /usr/bin/python3 lacks torch/torchvision: apt-get install python3-torch python3-torchvision" >&2
	exit 1
fi
rm -f "$stamp"
/usr/bin/python3 "$here/make_fixtures.py"
