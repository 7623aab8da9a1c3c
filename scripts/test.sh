#!/usr/bin/env bash
# The whole test suite: Rust unit, integration and doc tests, then the Python package built as
# an abi3 wheel, installed into a fresh .venv-wheel with no Rust toolchain on PATH, and its
# pytest suite run against it. Nothing is skipped: GPU tests need a wgpu
# adapter (Mesa's software Vulkan will do) and real-data tests need ../shared/data; without
# them those tests fail. (Plain `cargo test` lists them as ignored instead.)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d)"
    chmod 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
fi

# A PACS for the DICOM network tests: Orthanc (Debian's `orthanc`), on ports of its own, with
# an empty database, stopped when this script ends.
ORTHANC_BIN="$(command -v Orthanc || echo /usr/sbin/Orthanc)"
if [ ! -x "$ORTHANC_BIN" ]; then
    echo "scripts/test.sh: Orthanc is missing (Debian package orthanc; .ci/run installs it)" >&2
    exit 1
fi
ORTHANC_DIR="$(mktemp -d)"
cat > "$ORTHANC_DIR/orthanc.json" <<JSON
{
  "Name": "tomors-test",
  "StorageDirectory": "$ORTHANC_DIR/storage",
  "IndexDirectory": "$ORTHANC_DIR/index",
  "DicomAet": "ORTHANC",
  "DicomPort": 14242,
  "HttpPort": 18042,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "DicomCheckCalledAet": true,
  "DicomModalities": { "tomors": [ "TOMORS", "127.0.0.1", 14243 ] },
  "Plugins": []
}
JSON
"$ORTHANC_BIN" "$ORTHANC_DIR/orthanc.json" > "$ORTHANC_DIR/log.txt" 2>&1 &
ORTHANC_PID=$!
trap 'kill "$ORTHANC_PID" 2>/dev/null; rm -rf "$ORTHANC_DIR"' EXIT
for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/18042) 2>/dev/null && break
    sleep 0.2
done
# Our own server, not another one holding the ports.
if ! kill -0 "$ORTHANC_PID" 2>/dev/null || ! (exec 3<>/dev/tcp/127.0.0.1/18042) 2>/dev/null; then
    echo "scripts/test.sh: Orthanc did not start (ports 14242 and 18042 free?); its log:" >&2
    cat "$ORTHANC_DIR/log.txt" >&2
    exit 1
fi
export TOMORS_ORTHANC_DICOM=127.0.0.1:14242 TOMORS_ORTHANC_HTTP=127.0.0.1:18042

echo "== Rust tests (GPU and real-data tests included)"
CARGO_PROFILE_TEST_DEBUG=0 cargo test -p tomors --lib --bins --tests --examples --no-fail-fast \
    -- --include-ignored --skip reproduce_a_mutant
CARGO_PROFILE_TEST_DEBUG=0 cargo test -p tomors --doc

echo "== Examples (all built above; the synthetic ones run: the real-data ones take minutes)"
run_example() { CARGO_PROFILE_TEST_DEBUG=0 cargo run -q -p tomors --profile test --example "$@"; }
run_example fbp -- 128
run_example fdk -- 48

echo "== Python: the abi3 wheel, installed into a fresh environment without Rust, and its tests"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip "maturin>=1.16,<2"
rm -rf dist/wheel
(cd python && ../.venv/bin/maturin build --release --quiet --out ../dist/wheel)
WHEEL="$(ls dist/wheel/tomors-*-abi3-*.whl)"
# The wheel's environment and its test run see no Rust toolchain: only system paths.
NO_RUST_PATH="/usr/local/bin:/usr/bin:/bin"
rm -rf .venv-wheel
# The interpreter itself, not a version manager's shim (which needs its own PATH).
BASE_PYTHON="$("$PYTHON" -c 'import sys; print(sys.executable)')"
env PATH="$NO_RUST_PATH" "$BASE_PYTHON" -m venv .venv-wheel
env PATH="$NO_RUST_PATH" .venv-wheel/bin/python -m pip install --quiet --upgrade pip
env PATH="$NO_RUST_PATH" .venv-wheel/bin/python -m pip install --quiet --only-binary tomors "$WHEEL[test]"
if env PATH="$PWD/.venv-wheel/bin:$NO_RUST_PATH" sh -c 'command -v cargo || command -v rustc'; then
    echo "scripts/test.sh: a Rust toolchain is on the wheel environment's PATH" >&2
    exit 1
fi
# From the repository root, so that the installed package (not python/tomors, which lacks the
# compiled extension) is the one imported. TOMORS_REQUIRE_ALL=1: a skipped test fails the run.
TOMORS_REQUIRE_ALL=1 env PATH="$PWD/.venv-wheel/bin:$NO_RUST_PATH" \
    .venv-wheel/bin/python -m pytest -q -rs python/tests
