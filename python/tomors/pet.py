"""3D PET from the scanner's files in one call, quantitative when calibrated.

    import tomors
    cal = tomors.recon_pet(sinogram="phantom.hs", phantom_bq_ml=5000.0,
                           phantom_assay_time="2026-12-01T08:00:00")
    r = tomors.recon_pet(listmode="list.l.hdr", norm="norm.n.hdr", mu="mu.hv",
                         calibration=cal.phantom["calibration"], weight_kg=75.0,
                         injected_mbq=370.0, output_dir="out/")
    r.image                  # float32 [z, y, x], Bq/mL decay-corrected to the scan start
    r.image * r.suv_bw_per_bq_ml   # SUVbw (g/mL)

As ``tomors recon-pet`` runs it: OSEM of the histogram (or list-mode OSEM of the prompts) with
normalisation, randoms from the delayeds and attenuation in the model; with a ``calibration``
(Bq·s/mL per image unit, measured once on a uniform phantom of known concentration with
``phantom_bq_ml``), the image is in Bq/mL: decay-corrected to the scan start over the frame and
for the positron fraction, with the radionuclide, timing and injection from the header (the
arguments win). ``output_dir`` writes a DICOM PT series (Units BQML, Decay Correction START,
Decay Factor, Radiopharmaceutical Information Sequence, patient weight), NIfTI and a summary
page; nothing is overwritten.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _tomors
from .io import PatientGrid, _grid

__all__ = ["recon_pet", "PetReconResult"]

PathLike = Union[str, os.PathLike]
TimeLike = Union[str, _dt.datetime]


@dataclass
class PetReconResult:
    """A 3D PET reconstruction (see ``recon_pet``)."""

    image: np.ndarray
    """``[z, y, x]`` in ``units``."""
    units: str
    """``"BQML"`` with a calibration, else ``"PROPCNTS"`` (counts)."""
    grid: PatientGrid
    """Where the voxels lie (scanner coordinates: LPS for a head-first supine patient)."""
    corrected: List[str]
    """DICOM Corrected Image terms of what the model and scaling applied (NORM, ATTN, RAN, SCAT,
    DECY)."""
    quantitation: Optional[dict]
    """With a calibration: ``nuclide``, ``half_life_s``, ``positron_fraction``, ``frame_start_s``,
    ``duration_s``, ``decay_factor``, ``bq_ml_per_unit``, ``calibration``, ``live_fraction``,
    ``suv_bw_per_bq_ml``, ``sul_per_bq_ml``."""
    phantom: Optional[dict]
    """With ``phantom_bq_ml``: the ``calibration`` measured, ``nuclide``, the interior ``mean``
    and how many ``voxels`` it took."""
    mu_map: Optional[np.ndarray]
    sensitivity: Optional[np.ndarray]
    """List-mode OSEM's sensitivity image (pass it on to later frames as a file written with
    ``output_dir``)."""
    reconstruction_method: str
    randoms_fraction: Optional[float]
    """Randoms (or the given background) over prompts."""
    scatter_fraction: Optional[float]
    """Scatter over prompts minus randoms, with ``scatter="sss"``."""
    dead_time: Dict[str, object]
    """The frame's dead time: ``live_fraction`` (``None`` when none was applied), ``source``
    (``"given"``, ``"singles"``: from the list mode's singles and the norm's dead-time
    components, or ``"none"``), ``reason`` (why none, naming the missing piece) and
    ``mean_bucket_rate_cps`` (singles per bucket, counts/s, with ``"singles"``)."""
    settings: List[str]
    warnings: List[str]
    files: Optional[Dict[str, object]] = field(default=None, repr=False)
    """What was written with ``output_dir``: ``dicom`` (paths), ``nifti``, ``sensitivity``,
    ``summary_png``."""

    @property
    def suv_bw_per_bq_ml(self) -> Optional[float]:
        """SUVbw (g/mL) per Bq/mL, when weight, injected activity and injection time are known."""
        return None if self.quantitation is None else self.quantitation["suv_bw_per_bq_ml"]


def _time(t: Optional[TimeLike], name: str) -> Optional[str]:
    if t is None:
        return None
    if isinstance(t, _dt.datetime):
        return t.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(t, str):
        return t
    raise TypeError(f"{name}: expected an ISO date-time string or a datetime, not {type(t).__name__}")


def recon_pet(
    listmode: Optional[PathLike] = None,
    sinogram: Optional[PathLike] = None,
    *,
    norm: Optional[PathLike] = None,
    mu: Optional[PathLike] = None,
    ct: Optional[PathLike] = None,
    background: Sequence[PathLike] = (),
    span: int = 11,
    mash: int = 1,
    window: Optional[Tuple[float, float]] = None,
    iterations: int = 3,
    subsets: int = 21,
    voxel: float = 4.17,
    post_filter_fwhm: Optional[float] = None,
    list_mode: bool = False,
    sensitivity: Optional[PathLike] = None,
    randoms: bool = True,
    randoms_estimate: str = "ml-singles",
    rdp_beta: Optional[float] = None,
    rdp_gamma: float = 2.0,
    bsrem_iterations: int = 10,
    calibration: Optional[float] = None,
    phantom_bq_ml: Optional[float] = None,
    phantom_assay_time: Optional[TimeLike] = None,
    isotope: Optional[Tuple[str, float, float]] = None,
    weight_kg: Optional[float] = None,
    height_m: Optional[float] = None,
    sex: Optional[str] = None,
    injected_mbq: Optional[float] = None,
    injection_time: Optional[TimeLike] = None,
    live_fraction: Optional[float] = None,
    scatter: str = "none",
    scatter_iterations: int = 3,
    max_resident_bytes: Optional[int] = None,
    backend: str = "auto",
    output_dir: Optional[PathLike] = None,
    progress: Optional[Callable[[str, int, int], object]] = None,
) -> PetReconResult:
    """Reconstructs a PETLINK list-mode file (``listmode``, its ``.l.hdr``) or a STIR Interfile
    sinogram (``sinogram``, ``.hs``) with a Siemens ``norm`` (``.n.hdr``) and a μ-map (``mu``,
    Interfile in 1/cm, or ``ct``, a CT series folder).

    ``rdp_beta``: after the OSEM iterations, ``bsrem_iterations`` of BSREM (penalised
    likelihood, convergent) with the relative-difference prior of weight β and edge
    preservation ``rdp_gamma``, from the OSEM image (histogrammed data only).

    Quantitation: ``calibration`` (Bq·s/mL per image unit) puts the image in Bq/mL; or
    ``phantom_bq_ml`` with ``phantom_assay_time`` measures it, the data being a uniform phantom
    of that concentration at that time (``result.phantom["calibration"]``). ``isotope``
    ``(name, half_life_s, positron_fraction)`` over the header's. SUV: ``weight_kg`` (and
    ``height_m``, ``sex`` ``"M"``/``"F"`` for SUL), ``injected_mbq`` and ``injection_time``
    (ISO string or naive datetime on the scanner's clock) over the header's. ``live_fraction``:
    the dead-time correction, in (0, 1]; without it, list-mode data with singles reports and a
    norm with dead-time components give it (``result.dead_time``). Times are the scanner's
    local clock.

    ``scatter="sss"``: scatter by single scatter simulation from the μ-map and the image,
    scaled to the data's tails outside the object, in a loop of ``scatter_iterations``
    simulations with the reconstruction (needs ``mu`` or ``ct``; non-TOF);
    ``result.scatter_fraction`` reports it.

    ``progress(stage, done, of)`` is called at each step. Raises ``InvalidArgumentError`` naming
    what is missing or wrong (no radionuclide, no duration, a negative weight, SUV without a
    calibration)."""
    if isinstance(sex, str):
        sex = sex.upper()
    d = _tomors.recon_pet(
        None if listmode is None else Path(listmode),
        None if sinogram is None else Path(sinogram),
        None if norm is None else Path(norm),
        None if mu is None else Path(mu),
        None if ct is None else Path(ct),
        [Path(b) for b in background],
        span, mash, window, iterations, subsets, float(voxel), post_filter_fwhm, bool(list_mode),
        None if sensitivity is None else Path(sensitivity),
        bool(randoms), randoms_estimate, rdp_beta, float(rdp_gamma), bsrem_iterations, calibration,
        phantom_bq_ml,
        _time(phantom_assay_time, "phantom_assay_time"), isotope, weight_kg, height_m, sex,
        None if injected_mbq is None else float(injected_mbq) * 1e6,
        _time(injection_time, "injection_time"), live_fraction, scatter, scatter_iterations,
        max_resident_bytes, backend,
        None if output_dir is None else Path(output_dir), progress,
    )
    files = d["files"]
    if files is not None:
        files = {k: ([Path(p) for p in v] if k == "dicom" else (None if v is None else Path(v)))
                 for k, v in files.items()}
    return PetReconResult(
        image=d["image"],
        units=d["units"],
        grid=_grid(d["grid"]),
        corrected=list(d["corrected"]),
        quantitation=d["quantitation"],
        phantom=d["phantom"],
        mu_map=d["mu_map"],
        sensitivity=d["sensitivity"],
        reconstruction_method=d["reconstruction_method"],
        randoms_fraction=d["randoms_fraction"],
        scatter_fraction=d["scatter_fraction"],
        dead_time=dict(d["dead_time"]),
        settings=list(d["settings"]),
        warnings=list(d["warnings"]),
        files=files,
    )
