import os

import numpy as np
import pytest

import tomors

BACKENDS = ["cpu", "gpu"]


HAS_ADAPTER = bool(tomors.adapters())


def require_gpu():
    """Skips (reported as skipped, never as passed) when wgpu finds no adapter. CI sets
    TOMORS_REQUIRE_ALL=1, which turns every skip into a failure (see pytest_sessionfinish)."""
    if not HAS_ADAPTER:
        pytest.skip("no wgpu adapter (CI installs Mesa's software Vulkan)")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Runs a test once per backend; the GPU run needs a wgpu adapter."""
    if request.param == "gpu":
        require_gpu()
    return request.param


def pytest_sessionfinish(session, exitstatus):
    """With TOMORS_REQUIRE_ALL=1 (CI), a run with skipped tests fails: a missing adapter or
    missing ../shared/data must not pass as a green run."""
    if os.environ.get("TOMORS_REQUIRE_ALL") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"TOMORS_REQUIRE_ALL=1: {skipped} test(s) skipped; failing the run", red=True)
        session.exitstatus = 1


def parallel_case(n=64, views=90, cols=None, spacing=1.0):
    grid = tomors.ImageGrid((n, n), spacing=spacing)
    cols = cols or int(np.ceil(n * np.sqrt(2))) | 1
    geom = tomors.ParallelBeam(np.arange(views) * np.pi / views, cols, col_spacing=spacing)
    return geom, grid


def rel_l2(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))
