"""Batches of studies: every study under a folder tree, each by the pipeline it needs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union

from . import _tomors

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class BatchReport:
    """What :func:`batch` did."""

    records: List[Dict[str, object]]
    """One dict per study worked on, as logged in ``output/batch.jsonl``: ``study``,
    ``pipeline`` (``"spect-ct"``, ``"pet-ct"`` or ``None``), ``status`` (``"done"``,
    ``"failed"``, ``"unsupported"``), ``seconds``, ``warnings``, ``outputs`` (paths relative to
    the study's folder), ``error``."""
    already_done: List[str]
    """Studies finished by an earlier run, skipped."""
    unreadable: List[Tuple[Path, str]]
    """Files under the input that are not readable DICOM, with why."""


def batch(
    settings: PathLike,
    input: PathLike,
    output: PathLike,
    progress: Optional[Callable[[str, str], None]] = None,
) -> BatchReport:
    """Reconstructs every study under ``input`` (DICOM, any layout) by the pipeline it needs
    (NM projections and a CT: SPECT-CT, several beds jointly; a PET series and a CT: PET over
    CT), with the settings of the TOML file ``settings`` (see ``tomors batch``), into
    ``output/<study UID>/``, written through a ``.partial`` folder renamed when complete, and
    logs each study in ``output/batch.jsonl``. A failing study is logged and the batch goes on;
    finished studies are skipped and interrupted ones redone; the inputs are only read.
    ``progress(study, status)`` hears each study's end.

    Raises ``InvalidArgumentError`` for bad settings (unknown keys, wrong types) or an output
    folder inside the input."""
    d = _tomors.batch(Path(settings), Path(input), Path(output), progress)
    records = [dict(r, outputs=[Path(p) for p in r["outputs"]]) for r in d["records"]]
    return BatchReport(
        records=records,
        already_done=list(d["already_done"]),
        unreadable=[(Path(p), why) for p, why in d["unreadable"]],
    )
