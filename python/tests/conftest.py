import os

import numpy as np
import pytest

import tomors

BACKENDS = ["cpu", "gpu"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Runs a test once per backend. The GPU run needs a wgpu adapter (CI installs Mesa's
    software Vulkan); TOMORS_SKIP_GPU_TESTS=1 skips it on machines without one."""
    if request.param == "gpu" and os.environ.get("TOMORS_SKIP_GPU_TESTS") == "1":
        pytest.skip("TOMORS_SKIP_GPU_TESTS=1")
    return request.param


def parallel_case(n=64, views=90, cols=None, spacing=1.0):
    grid = tomors.ImageGrid((n, n), spacing=spacing)
    cols = cols or int(np.ceil(n * np.sqrt(2))) | 1
    geom = tomors.ParallelBeam(np.arange(views) * np.pi / views, cols, col_spacing=spacing)
    return geom, grid


def rel_l2(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))
