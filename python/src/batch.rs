//! `tomors.batch`: every study under a folder tree, each by the pipeline it needs (see the
//! Rust `tomors::batch`).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::*;

/// Runs the batch of `settings` (a TOML file) over the studies under `input` into `output`;
/// `progress(study, status)` hears each study's end. Returns a dict: `records` (one dict per
/// study worked on, as logged in output/batch.jsonl), `already_done` (UIDs skipped) and
/// `unreadable` (`(path, why)` pairs).
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
    let mut current = String::new();
    let report = py
        .detach(|| {
            let mut tell = |e: tomors::batch::Event<'_>| {
                let status = match e {
                    tomors::batch::Event::Start { study, .. } => {
                        current = study.to_string();
                        return;
                    }
                    tomors::batch::Event::End { status, .. } => status,
                    tomors::batch::Event::Found { .. } => return,
                };
                let Some(cb) = &progress else { return };
                Python::attach(|py| {
                    if let Err(e) = cb.call1(py, (current.as_str(), status))
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
    let records = report
        .records
        .iter()
        .map(|r| {
            let d = PyDict::new(py);
            d.set_item("study", &r.study)?;
            d.set_item(
                "pipeline",
                r.pipeline.map(|p| match p {
                    tomors::batch::Pipeline::SpectCt => "spect-ct",
                    tomors::batch::Pipeline::PetCt => "pet-ct",
                }),
            )?;
            d.set_item("status", r.status)?;
            d.set_item("seconds", r.seconds)?;
            d.set_item("warnings", r.warnings.clone())?;
            d.set_item("outputs", r.outputs.clone())?;
            d.set_item("error", r.error.clone())?;
            Ok(d)
        })
        .collect::<PyResult<Vec<_>>>()?;
    let d = PyDict::new(py);
    d.set_item("records", records)?;
    d.set_item("already_done", report.already_done)?;
    d.set_item("unreadable", report.unreadable)?;
    Ok(d)
}
