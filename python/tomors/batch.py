"""Batches of studies: every study under a folder tree, each by the pipeline it needs, one
after the other or as tasks on a Dask cluster."""

from __future__ import annotations

import json
import os
import uuid
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
    """Files under the input that are not readable DICOM, with why (also in
    ``output/unreadable.json``)."""


def batch(
    settings: PathLike,
    input: PathLike,
    output: PathLike,
    progress: Optional[Callable[[str, str], None]] = None,
    client: object = None,
) -> BatchReport:
    """Reconstructs every study under ``input`` (DICOM, any layout) by the pipeline it needs
    (NM projections and a CT: SPECT-CT, several beds jointly; a PET series and a CT: PET over
    CT), with the settings of the TOML file ``settings`` (see ``tomors batch``), into
    ``output/<study UID>/``, written through a ``.partial`` folder renamed when complete, and
    logs each study in ``output/batch.jsonl``. A failing study is logged and the batch goes on;
    finished studies are skipped and interrupted ones redone; the inputs are only read.
    ``progress(study, status)`` hears each study's end.

    ``client``: ``None`` runs the studies in this process, ``workers`` of the settings at
    once (1 by default). A ``dask.distributed.Client``, or a scheduler's address
    (``"tcp://host:8786"``), runs each study as one task on that cluster (``workers`` is then
    the cluster's business); the log is written here as tasks end, and the images are those of
    a sequential run. On the cluster:

    - a worker that declares a ``GPU`` resource (``dask worker --resources GPU=1``) runs one
      study at a time on it: every study asks for ``GPU=1`` when any worker declares one and
      the settings' backend is not ``"cpu"``;
    - each study's memory is estimated (see ``tomors::batch::Study::memory_estimate_bytes``);
      workers that declare a ``MEMORY`` resource in bytes (``--resources MEMORY=8e9``) run only
      studies that fit beside each other, and a study larger than every worker's memory limit
      per thread is logged as failed without being sent;
    - a study whose worker dies (killed, or over its memory limit) is rerun from scratch by
      Dask, up to ``distributed.scheduler.allowed-failures`` times (3 by default); after that it
      is logged as failed and its ``.partial`` folder removed.

    Raises ``InvalidArgumentError`` for bad settings (unknown keys, wrong types) or an output
    folder inside the input."""
    if client is None:
        d = _tomors.batch(Path(settings), Path(input), Path(output), progress)
        records = [_record(r) for r in d["records"]]
        return BatchReport(records, list(d["already_done"]), _unreadable(d["unreadable"]))
    return _on_dask(Path(settings).read_text(), Path(input), Path(output), progress, client)


def _record(text: str) -> Dict[str, object]:
    r = json.loads(text)
    r["outputs"] = [Path(p) for p in r["outputs"]]
    return r


def _unreadable(pairs) -> List[Tuple[Path, str]]:
    return [(Path(p), why) for p, why in pairs]


def _run_study(settings: str, study: str, output: str) -> str:
    """One study on a worker: its record as JSON."""
    return _tomors.batch_study(settings, study, output)


def _workers(client):
    """Every worker's info (newer ``distributed`` lists only five unless asked for all)."""
    import inspect

    if "n_workers" in inspect.signature(client.scheduler_info).parameters:
        return client.scheduler_info(n_workers=-1)["workers"].values()
    return client.scheduler_info()["workers"].values()


def _on_dask(settings: str, input: Path, output: Path, progress, client) -> BatchReport:
    from distributed import Client, as_completed

    own = not isinstance(client, Client)
    if own:
        client = Client(client)
    try:
        plan = _tomors.batch_plan(settings, input, output)
        workers = list(_workers(client))
        gpu = plan["backend"] != "cpu" and any("GPU" in w.get("resources", {}) for w in workers)
        metered = any("MEMORY" in w.get("resources", {}) for w in workers)
        per_thread = [w["memory_limit"] / max(w.get("nthreads", 1), 1) for w in workers if w.get("memory_limit")]
        room = max(per_thread) if per_thread else None
        records: List[Dict[str, object]] = []

        def log(text: str, uid: str) -> None:
            _tomors.batch_log(output, text)
            records.append(_record(text))
            if progress is not None:
                progress(uid, records[-1]["status"])

        futures = {}
        for uid, study, need in plan["pending"]:
            if room is not None and need > room:
                why = (
                    f"needs about {need / 2**30:.2f} GiB (estimated) and no worker has that much: the "
                    f"largest memory limit per worker thread is {room / 2**30:.2f} GiB"
                )
                log(_tomors.batch_failed(study, output, why), uid)
                continue
            resources = {}
            if gpu:
                resources["GPU"] = 1
            if metered:
                resources["MEMORY"] = need
            f = client.submit(
                _run_study, settings, study, str(output),
                key=f"tomors-study-{uid}-{uuid.uuid4().hex[:8]}", resources=resources or None, pure=False,
            )
            futures[f] = (uid, study)
        for f in as_completed(list(futures)):
            uid, study = futures[f]
            try:
                text = f.result()
            except Exception as e:  # the task never returned a record: its worker kept dying
                text = _tomors.batch_failed(study, output, f"no worker finished it: {type(e).__name__}: {e}")
            log(text, uid)
        return BatchReport(records, list(plan["already_done"]), _unreadable(plan["unreadable"]))
    finally:
        if own:
            client.close()
