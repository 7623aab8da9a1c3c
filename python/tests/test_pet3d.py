"""3D PET from Python: scanners and layouts, the 3D projector (dot test, OSEM), list-mode OSEM,
and the PET readers on the real mMR files."""

from pathlib import Path

import numpy as np
import pytest

import tomors
import tomors.io
from conftest import rel_l2

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pet_mmr"
needs_mmr = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} absent (real data lives in ../shared/data)")


def small(tof=False):
    scanner = tomors.PetScanner(rings=8, crystals_per_ring=64, radius=60.0, ring_spacing=4.0,
                                interaction_depth=2.0,
                                tof=(5, 133.0, 200.0) if tof else None)
    layout = tomors.SinogramLayout(scanner, tangential=40, span=1, max_ring_difference=7)
    grid = tomors.ImageGrid((8, 24, 24), spacing=4.0)
    return layout, grid


def test_presets_and_layouts():
    mmr = tomors.PetScanner.mmr()
    assert (mmr.rings, mmr.crystals_per_ring, mmr.effective_radius) == (64, 504, 335.0)
    span11 = tomors.SinogramLayout.mmr(11)
    assert span11.shape == [252, 837, 344]
    assert sorted(s[3] for s in span11.segments)[:2] == [27, 27]
    assert tomors.PetScanner.generic_tof().tof[0] == 13
    # A crystal pair and its bin, both orders.
    layout, _ = small()
    assert layout.bin((1, 3), (2, 40)) == layout.bin((2, 40), (1, 3))
    with pytest.raises(tomors.errors.InvalidArgumentError, match="ring < 8"):
        layout.bin((9, 3), (2, 40))


@pytest.mark.parametrize("tof", [False, True])
def test_projector_is_matched_and_reconstructs(backend, tof):
    layout, grid = small(tof)
    mu = np.zeros(grid.shape, np.float32)
    mu[:, 6:18, 6:18] = 0.0096
    pet = tomors.Pet3dProjector(layout, grid, attenuation=mu, backend=backend)
    assert pet.data_shape == layout.shape
    assert pet.adjointness_test(seed=3) < (1e-6 if backend == "cpu" else 1e-4)
    x = np.zeros(grid.shape, np.float32)
    x[:, 8:16, 8:16] = 1.0
    y = pet.forward(x)
    image = tomors.osem(y, pet, iterations=10, subsets=4)
    assert rel_l2(image[2:6, 9:15, 9:15], x[2:6, 9:15, 9:15]) < 0.05
    # Within a memory budget (data and factors sent a subset at a time): the same image.
    budget = tomors.osem(y, pet, iterations=10, subsets=4, max_resident_bytes=1)
    assert np.array_equal(image, budget)
    with pytest.raises(tomors.errors.InvalidArgumentError, match="out of range") as e:
        tomors.osem(y, pet, iterations=1, subsets=4, max_resident_bytes=-1)
    assert any("max_resident_bytes" in note for note in e.value.__notes__)


def test_lm_osem_matches_sinogram_mlem():
    layout, grid = small()
    pet = tomors.Pet3dProjector(layout, grid, backend="cpu")
    x = np.zeros(grid.shape, np.float32)
    x[:, 8:16, 8:16] = 0.05
    counts = np.round(pet.forward(x))
    # Events: every count of every bin as a crystal pair found through layout.bin.
    scanner = layout.scanner
    pairs = {}
    for ra in range(scanner.rings):
        for ca in range(scanner.crystals_per_ring):
            for rb in range(scanner.rings):
                for cb in range(ca + 1, scanner.crystals_per_ring):
                    b = layout.bin((ra, ca), (rb, cb))
                    if b is not None:
                        pairs[(b[0], b[1], b[3])] = (ra, ca, rb, cb)
    events = [pairs[(v, p, t)] for (v, p, t) in zip(*np.nonzero(counts))
              for _ in range(int(counts[v, p, t]))]
    events = np.array(events, dtype=np.int64)
    lm = tomors.lm_osem(events, pet, iterations=2, subsets=1)
    sino = tomors.mlem(counts, pet, iterations=2)
    assert rel_l2(lm, sino) < 1e-4
    with pytest.raises(tomors.errors.InvalidArgumentError, match="crystal < 64"):
        tomors.lm_osem(np.array([[0, 70, 1, 3]]), pet, iterations=1, subsets=1)
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        tomors.lm_osem(np.zeros((3, 3), np.int64), pet, iterations=1, subsets=1)


def test_lm_osem_reuses_a_sensitivity_and_reports_dropped_events():
    layout, grid = small(tof=True)
    pet = tomors.Pet3dProjector(layout, grid, backend="cpu")
    rng = np.random.default_rng(5)
    n = 400
    events = np.stack([rng.integers(0, 8, n), rng.integers(0, 64, n),
                       rng.integers(0, 8, n), rng.integers(0, 64, n)], axis=1)
    events = events[events[:, 1] != events[:, 3]]
    tof = rng.integers(0, 5, len(events))
    inside = np.array([layout.bin((a, b), (c, d)) is not None for a, b, c, d in events])
    assert 0 < (~inside).sum() < len(events)
    s = pet.sensitivity()
    with pytest.warns(UserWarning, match=f"{(~inside).sum()} of {len(events)} events lie outside"):
        a = tomors.lm_osem(events, pet, 2, 2, tof_bins=tof)
    b = tomors.lm_osem(events, pet, 2, 2, tof_bins=tof, sensitivity=s, outside="drop")
    c = tomors.lm_osem(events[inside], pet, 2, 2, tof_bins=tof[inside], sensitivity=s)
    assert np.array_equal(a, b) and np.array_equal(b, c) and a.max() > 0
    # Events held on the host and sent a subset at a time: the same image.
    d = tomors.lm_osem(events[inside], pet, 2, 2, tof_bins=tof[inside], sensitivity=s,
                       max_resident_bytes=1)
    assert np.array_equal(c, d)
    with pytest.raises(tomors.errors.InvalidArgumentError, match="outside the layout"):
        tomors.lm_osem(events, pet, 1, 1, tof_bins=tof, outside="error")
    with pytest.raises(ValueError, match="outside="):
        tomors.lm_osem(events, pet, 1, 1, tof_bins=tof, outside="ignore")
    with pytest.raises(tomors.errors.ShapeMismatchError):
        tomors.lm_osem(events, pet, 1, 1, tof_bins=tof, sensitivity=s[1:], outside="drop")


def test_scanner_view_offset_turns_the_crystals():
    plain = tomors.PetScanner(rings=2, crystals_per_ring=64, radius=60.0, ring_spacing=4.0)
    turned = tomors.PetScanner(rings=2, crystals_per_ring=64, radius=60.0, ring_spacing=4.0,
                               view_offset=2 * np.pi / 64)
    assert turned.view_offset == pytest.approx(2 * np.pi / 64)
    assert turned.crystal_position(1, 3) == pytest.approx(plain.crystal_position(1, 4))
    with pytest.raises(tomors.errors.InvalidGeometryError, match="view offset"):
        tomors.PetScanner(rings=2, crystals_per_ring=64, radius=60.0, ring_spacing=4.0,
                          view_offset=float("nan"))


@needs_mmr
def test_real_mmr_files():
    h = tomors.io.read_petlink(DATA / "small_listmode_file.l.hdr", tomors.SinogramLayout.mmr(11))
    assert h["counts"]["prompts"] == 218881 and h["counts"]["delayeds"] == 35320
    assert h["prompts"].sum() == 218881 and h["prompts"].shape == (252, 837, 344)
    # ML singles hold the delayeds (span 11 keeps every pair of the file's span-1 layout).
    assert abs(h["randoms"].sum() - 35320) < 0.01 * 35320
    casey = tomors.io.read_petlink(DATA / "small_listmode_file.l.hdr", tomors.SinogramLayout.mmr(11),
                                   randoms_estimate="fan-sums")["randoms"]
    assert abs(casey.sum() - 35320) < 50 and not np.array_equal(casey, h["randoms"])
    with pytest.raises(tomors.InvalidArgumentError, match="ml-singles"):
        tomors.io.read_petlink(DATA / "small_listmode_file.l.hdr", randoms_estimate="casey")
    # A window the wrong way round returned nothing, a NaN start everything.
    for window in [(5.0, 1.0), (float("nan"), 1.0), (-1.0, 2.0)]:
        with pytest.raises(tomors.InvalidArgumentError, match="time window"):
            tomors.io.read_petlink(DATA / "small_listmode_file.l.hdr", tomors.SinogramLayout.mmr(11),
                                   window=window)
    norm = tomors.io.read_mmr_norm(DATA / "norm.n.hdr", h["layout"])
    assert norm.shape == (252, 837, 344) and (norm == 0).any() and norm.max() > 0
    mu, grid = tomors.io.read_interfile(DATA / "mu_map.hv")
    assert mu.shape == (127, 57, 57) and grid.shape == [127, 57, 57]
    with pytest.raises(tomors.errors.TomorsIOError):
        tomors.io.read_interfile(DATA / "mMR_template_span11.hs")  # its data file is absent
