"""The Python API under Dask: slices of a stack reconstructed as independent blocks."""

import pickle

import dask.array as da
import numpy as np

import tomors


def test_fbp_of_a_stack_with_map_blocks():
    n, views, cols, slices = 48, 60, 69, 6
    theta = np.arange(views) * np.pi / views
    grid = tomors.ImageGrid((slices, n, n), spacing=(2.0, 1.0, 1.0))
    geom = tomors.ParallelBeam(theta, cols, n_rows=slices, row_spacing=2.0)
    proj = tomors.shepp_logan_sinogram(geom, grid)  # (views, slices, cols)

    # One block per two slices, laid out (slices, views, cols) so blocks split along axis 0.
    stack = da.from_array(np.ascontiguousarray(proj.transpose(1, 0, 2)), chunks=(2, views, cols))

    def reconstruct(block):
        rows = block.shape[0]
        g = tomors.ImageGrid((rows, n, n), spacing=(2.0, 1.0, 1.0))
        p = tomors.Projector(tomors.ParallelBeam(theta, cols, n_rows=rows, row_spacing=2.0), g, backend="cpu")
        return tomors.fbp(block.transpose(1, 0, 2), p)

    volume = stack.map_blocks(reconstruct, chunks=((2, 2, 2), (n,), (n,)), dtype=np.float32)
    got = volume.compute(scheduler="threads")
    whole = tomors.fbp(proj, tomors.Projector(geom, grid, backend="cpu"))
    np.testing.assert_allclose(got, whole, rtol=0, atol=1e-6)


def test_projector_travels_to_workers():
    # Distributed workers receive pickled objects; the plan is rebuilt on arrival.
    grid = tomors.ImageGrid((32, 32))
    p = tomors.Projector(tomors.ParallelBeam(np.arange(30) * np.pi / 30, 47), grid, backend="cpu")
    images = da.from_array(np.stack([tomors.shepp_logan(grid)] * 4), chunks=(1, 32, 32))
    shipped = pickle.loads(pickle.dumps(p))
    sinos = images.map_blocks(lambda b: shipped.forward(b[0])[None], chunks=((1,) * 4, (30,), (47,)), dtype=np.float32)
    out = sinos.compute(scheduler="threads")
    np.testing.assert_array_equal(out[2], p.forward(tomors.shepp_logan(grid)))
