#!/usr/bin/env bash
# Packs what a device check needs into .dev/ (ignored by git; the device tool carries it with
# `carry: [".gl", ".dev"]`): the release CLI and GPU test binaries, stripped, and the two-bed
# study with its CT 2 x 2 block-averaged (the full CT is 153 MB; a call carries 64 MiB).
# Then, on the device: `bash scripts/device/run.sh`. The Vulkan loader .debs go in .gl/
# (the device tool's README says how). Needs pydicom in $PYTHON (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
cargo build --release --bin tomors
bins=$(cargo test --release --no-run --lib --test cone --test osem --test parity --test spect \
    --test spect_beds 2>&1 | sed -n -e 's/.*Executable unittests src\/lib.rs (\(.*\))/lib \1/p' \
    -e 's/.*Executable tests\/\([a-z_]*\).rs (\(.*\))/\1 \2/p')
stage=$(mktemp -d)
mkdir -p "$stage/devbin" .dev
strip -o "$stage/devbin/tomors" target/release/tomors
while read -r name path; do
    strip -o "$stage/devbin/$name" "$path"
done <<< "$bins"
data=../shared/data/spect_ct_lu177_two_beds
mkdir -p "$stage/data/spect_ct_lu177_two_beds/CT"
cp -r "$data/NM" "$stage/data/spect_ct_lu177_two_beds/"
"$PY" scripts/device/decimate_ct.py "$data/CT" "$stage/data/spect_ct_lu177_two_beds/CT"
tar -C "$stage" -cf - devbin | xz -6 -T0 > .dev/devbin.tar.xz
tar -C "$stage" -cf - data | xz -6 -T0 > .dev/data.tar.xz
rm -rf "$stage"
ls -la .dev
