#!/usr/bin/env bash
# The whole test suite: Rust unit, integration and doc tests, then the Python package built
# and installed into .venv and its pytest suite. Nothing is skipped: GPU tests need a wgpu
# adapter (Mesa's software Vulkan will do) and real-data tests need ../shared/data; without
# them those tests fail. (Plain `cargo test` lists them as ignored instead.)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d)"
    chmod 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
fi

echo "== Rust tests (GPU and real-data tests included)"
CARGO_PROFILE_TEST_DEBUG=0 cargo test -p tomors --lib --bins --tests --examples --no-fail-fast \
    -- --include-ignored --skip reproduce_a_mutant
CARGO_PROFILE_TEST_DEBUG=0 cargo test -p tomors --doc

echo "== Python package and tests"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "./python[test]"
# From the repository root, so that the installed package (not python/tomors, which lacks the
# compiled extension) is the one imported. TOMORS_REQUIRE_ALL=1: a skipped test fails the run.
TOMORS_REQUIRE_ALL=1 .venv/bin/python -m pytest -q -rs python/tests
