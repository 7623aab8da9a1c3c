"""PET scatter and NEMA NU 2 through the Python package: a scatter estimate without a μ-map and
an unknown scatter method are refused with the argument named; the NU 2 analysis of the NEMA
IEC phantom's own activity map reads its contrast, a flat background and an empty lung insert.
(The scatter estimate itself is tested against a Monte Carlo in tests/pet_scatter.rs.)"""

import numpy as np
import pytest

import tomors
import tomors.io


def _sinogram(path):
    scanner = tomors.PetScanner(8, 64, 60.0, 4.0, interaction_depth=2.0, name="small")
    layout = tomors.SinogramLayout(scanner, 40, span=1, max_ring_difference=7)
    grid = tomors.ImageGrid((15, 24, 24), (2.0, 4.0, 4.0))
    sinogram = tomors.Pet3dProjector(layout, grid, backend="cpu").forward(np.ones((15, 24, 24), np.float32))
    tomors.io.write_interfile(path, sinogram, layout)
    return path


def test_scatter_needs_a_mu_map_and_a_known_method(tmp_path):
    hs = _sinogram(tmp_path / "data.hs")
    with pytest.raises(tomors.InvalidArgumentError, match="μ-map"):
        tomors.recon_pet(sinogram=hs, scatter="sss", iterations=1, subsets=4, backend="cpu")
    with pytest.raises(tomors.InvalidArgumentError, match="scatter"):
        tomors.recon_pet(sinogram=hs, scatter="tew", iterations=1, subsets=4, backend="cpu")
    r = tomors.recon_pet(sinogram=hs, iterations=1, subsets=4, backend="cpu")
    assert r.scatter_fraction is None and "SCAT" not in r.corrected


def test_nema_nu2_reads_the_phantom():
    grid = tomors.ImageGrid((25, 160, 160), (2.0, 2.0, 2.0))
    activity, _ = tomors.nema_iec(grid, contrast=4.0, mu_water=0.0096, supersample=2)
    q = tomors.nema_nu2(activity, grid, ratio=4.0)
    contrasts = [s["contrast"] for s in q["spheres"]]
    assert contrasts[0] < contrasts[-1] and 0.95 < contrasts[-1] < 1.001  # partial volume at the edges
    assert all(s["variability"] < 1e-6 for s in q["spheres"])
    assert q["lung_residual"] < 1e-6 and len(q["background_centres"]) == 12
    assert "| 37 | hot |" in q["table"]
    cold = tomors.nema_nu2(np.where(activity > 1.5, 0.0, activity), grid, cold=[28, 37])
    assert cold["spheres"][5]["cold"] and cold["spheres"][5]["contrast"] > 0.95
    with pytest.raises(tomors.InvalidArgumentError, match="cold sphere"):
        tomors.nema_nu2(activity, grid, cold=[30])
