#!/usr/bin/env bash
# The whole test suite: Rust unit, integration and doc tests (GPU tests included: they need a
# wgpu adapter, e.g. Mesa's software Vulkan), then the Python package built and installed into
# .venv and its pytest suite. Set TOMORS_SKIP_GPU_TESTS=1 on a machine without any adapter.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d)"
    chmod 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
fi

echo "== Rust tests"
CARGO_PROFILE_TEST_DEBUG=0 cargo test -p tomors --lib --bins --tests --examples --no-fail-fast
CARGO_PROFILE_TEST_DEBUG=0 cargo test -p tomors --doc

echo "== Python package and tests"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "./python[test]"
# From the repository root, so that the installed package (not python/tomors, which lacks the
# compiled extension) is the one imported.
.venv/bin/python -m pytest -q python/tests
