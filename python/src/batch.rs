//! `tomors.batch`: every study under a folder tree, each by the pipeline it needs (see the
//! Rust `tomors::batch`). Studies and records cross into Python as JSON (the Rust types'
//! serde form), so a Dask runner can ship a study to a worker and its record back.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::*;

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("batch types serialise")
}

fn from_json<T: serde::de::DeserializeOwned>(
    py: Python<'_>,
    what: &str,
    text: &str,
) -> PyResult<T> {
    serde_json::from_str(text)
        .map_err(|e| tomors::Error::InvalidArgument(format!("not a tomors batch {what}: {e}")))
        .py_err(py)
}

/// Runs the batch of `settings` (a TOML file) over the studies under `input` into `output`,
/// one study after the other; `progress(study, status)` hears each study's end. Returns a
/// dict: `records` (JSON, one per study worked on, as logged in output/batch.jsonl),
/// `already_done` (UIDs skipped) and `unreadable` (`(path, why)` pairs).
#[pyfunction]
#[pyo3(signature = (settings, input, output, progress=None))]
pub(crate) fn batch<'py>(
    py: Python<'py>,
    settings: PathBuf,
    input: PathBuf,
    output: PathBuf,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let s = tomors::batch::Settings::read(&settings).py_err(py)?;
    let mut raised: Option<PyErr> = None;
    let report = py
        .detach(|| {
            let mut tell = |e: tomors::batch::Event<'_>| {
                let tomors::batch::Event::End { study, status, .. } = e else {
                    return;
                };
                let Some(cb) = &progress else { return };
                Python::attach(|py| {
                    if let Err(e) = cb.call1(py, (study, status))
                        && raised.is_none()
                    {
                        raised = Some(e);
                    }
                });
            };
            tomors::batch::run_batch(&s, &input, &output, Some(&mut tell))
        })
        .py_err(py)?;
    if let Some(e) = raised {
        return Err(e);
    }
    let d = PyDict::new(py);
    d.set_item(
        "records",
        report.records.iter().map(json).collect::<Vec<_>>(),
    )?;
    d.set_item("already_done", report.already_done)?;
    d.set_item("unreadable", report.unreadable)?;
    Ok(d)
}

/// The first step of a spread-out batch: checks `settings` (TOML text) and the folders,
/// creates `output`, finds the studies. Returns a dict: `backend` (the settings'), `pending`
/// (`(uid, study JSON, memory estimate in bytes)` triples), `already_done`, `unreadable`.
#[pyfunction]
pub(crate) fn batch_plan<'py>(
    py: Python<'py>,
    settings: &str,
    input: PathBuf,
    output: PathBuf,
) -> PyResult<Bound<'py, PyDict>> {
    let s = tomors::batch::Settings::parse(settings).py_err(py)?;
    let planned = py
        .detach(|| tomors::batch::plan_batch(&input, &output))
        .py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("backend", s.backend)?;
    let pending: Vec<(String, String, u64)> = planned
        .pending
        .iter()
        .map(|s| (s.uid.clone(), json(s), s.memory_estimate_bytes()))
        .collect();
    d.set_item("pending", pending)?;
    d.set_item("already_done", planned.already_done)?;
    d.set_item("unreadable", planned.unreadable)?;
    Ok(d)
}

/// Reconstructs one study (JSON from `batch_plan`) with `settings` (TOML text) into
/// `output/<uid>/`; returns its record as JSON (a failure is in the record, not raised).
#[pyfunction]
pub(crate) fn batch_study(
    py: Python<'_>,
    settings: &str,
    study: &str,
    output: PathBuf,
) -> PyResult<String> {
    let s = tomors::batch::Settings::parse(settings).py_err(py)?;
    let study: tomors::batch::Study = from_json(py, "study", study)?;
    Ok(json(
        &py.detach(|| tomors::batch::run_study(&s, &study, &output)),
    ))
}

/// The record of a study whose runs all ended without a record (its worker killed each
/// time): failed with `why`, any `.partial` folder of it removed. Returns the record as JSON.
#[pyfunction]
pub(crate) fn batch_failed(
    py: Python<'_>,
    study: &str,
    output: PathBuf,
    why: String,
) -> PyResult<String> {
    let study: tomors::batch::Study = from_json(py, "study", study)?;
    Ok(json(&tomors::batch::failed_elsewhere(&study, &output, why)))
}

/// Appends a record (JSON) to `output/batch.jsonl`.
#[pyfunction]
pub(crate) fn batch_log(py: Python<'_>, output: PathBuf, record: &str) -> PyResult<()> {
    let record: tomors::batch::Record = from_json(py, "record", record)?;
    tomors::batch::log_record(Path::new(&output), &record).py_err(py)
}
