//! `tomors.Pacs`: a PACS over the DICOM network (see the Rust `tomors::pacs`).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::*;

/// A PACS: C-ECHO, C-FIND (study level), C-GET of a study into a folder, C-STORE of files.
#[pyclass(name = "Pacs", module = "tomors", frozen)]
pub(crate) struct PyPacs {
    inner: tomors::pacs::Pacs,
}

#[pymethods]
impl PyPacs {
    #[new]
    #[pyo3(signature = (host, port, ae_title, calling_ae_title="TOMORS", timeout_s=60.0))]
    fn new(
        py: Python<'_>,
        host: String,
        port: Int<u16>,
        ae_title: String,
        calling_ae_title: &str,
        timeout_s: f64,
    ) -> PyResult<Self> {
        let port = port.0;
        let settings = tomors::pacs::PacsSettings {
            host,
            port,
            ae_title,
            calling_ae_title: calling_ae_title.to_string(),
            timeout_s,
            store_results: false,
        };
        Ok(Self {
            inner: tomors::pacs::Pacs::new(settings).py_err(py)?,
        })
    }

    fn echo(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.echo()).py_err(py)
    }

    #[pyo3(signature = (patient_id=None, study_date=None, modality=None, study_uid=None))]
    fn find_studies<'py>(
        &self,
        py: Python<'py>,
        patient_id: Option<String>,
        study_date: Option<String>,
        modality: Option<String>,
        study_uid: Option<String>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let query = tomors::pacs::StudyQuery {
            patient_id,
            study_date,
            modality,
            study_uid,
        };
        let found = py.detach(|| self.inner.find_studies(&query)).py_err(py)?;
        found
            .into_iter()
            .map(|m| {
                let d = PyDict::new(py);
                d.set_item("study_uid", m.study_uid)?;
                d.set_item("patient_id", m.patient_id)?;
                d.set_item("patient_name", m.patient_name)?;
                d.set_item("study_date", m.study_date)?;
                d.set_item("description", m.description)?;
                d.set_item("modalities", m.modalities)?;
                Ok(d)
            })
            .collect()
    }

    fn retrieve_study(
        &self,
        py: Python<'_>,
        study_uid: String,
        folder: PathBuf,
    ) -> PyResult<(PathBuf, usize)> {
        py.detach(|| self.inner.retrieve_study(&study_uid, &folder))
            .py_err(py)
    }

    fn store(&self, py: Python<'_>, files: Vec<PathBuf>) -> PyResult<usize> {
        py.detach(|| self.inner.store(&files)).py_err(py)
    }

    fn __repr__(&self) -> String {
        let s = self.inner.settings();
        format!(
            "Pacs({:?}@{}:{}, calling {:?})",
            s.ae_title, s.host, s.port, s.calling_ae_title
        )
    }
}
