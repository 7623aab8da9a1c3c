//! Python bindings for `tomors`: thin wrappers over the Rust API, one module per domain.
//!
//! Arrays come in as NumPy arrays (any real dtype and layout: float32 C-contiguous arrays are
//! borrowed without a copy, anything else is converted once to float32 C order) and go out as
//! new float32 arrays that own their Rust buffers (no copy). Long work runs with the
//! interpreter released. Each `tomors::Error` kind raises its own exception class from
//! `tomors.errors`.

mod arrays;
mod batch;
mod fusion;
mod geometry;
mod io;
mod pacs;
mod pet;
mod phantom;
mod projectors;
mod recon;
mod recon_pet;
mod spect_ct;

use pyo3::prelude::*;

/// Names of the wgpu adapters found on this machine, with their device types.
#[pyfunction]
fn adapters() -> Vec<(String, String, String)> {
    tomors::backend::adapters()
        .into_iter()
        .map(|a| (a.name, a.backend, a.device_type))
        .collect()
}

#[pymodule]
fn _tomors(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<geometry::PyImageGrid>()?;
    m.add_class::<pacs::PyPacs>()?;
    m.add_class::<geometry::PyParallelBeam>()?;
    m.add_class::<geometry::PyFanBeam>()?;
    m.add_class::<geometry::PyConeBeam>()?;
    m.add_function(wrap_pyfunction!(geometry::_cone_from_state, m)?)?;
    m.add_class::<geometry::PyCollimator>()?;
    m.add_class::<geometry::PySpectGeometry>()?;
    m.add_class::<projectors::PyProjector>()?;
    m.add_class::<projectors::PySpectProjector>()?;
    m.add_class::<projectors::PyPetProjector>()?;
    m.add_class::<projectors::PyPet3dProjector>()?;
    m.add_class::<recon::PyFbp>()?;
    m.add_class::<recon::PyPrior>()?;
    m.add_function(wrap_pyfunction!(recon::os_sps, m)?)?;
    m.add_function(wrap_pyfunction!(recon::os_sart, m)?)?;
    m.add_function(wrap_pyfunction!(recon::osem, m)?)?;
    m.add_function(wrap_pyfunction!(recon::bsrem, m)?)?;
    m.add_function(wrap_pyfunction!(recon::bsrem_for_noise, m)?)?;
    m.add_function(wrap_pyfunction!(recon::penalised_log_likelihood, m)?)?;
    m.add_function(wrap_pyfunction!(recon::triple_energy_window, m)?)?;
    m.add_function(wrap_pyfunction!(recon::dual_energy_window, m)?)?;
    m.add_function(wrap_pyfunction!(recon::mlem, m)?)?;
    m.add_function(wrap_pyfunction!(recon::log_likelihood, m)?)?;
    m.add_function(wrap_pyfunction!(recon::voi_stats, m)?)?;
    m.add_function(wrap_pyfunction!(recon::fbp, m)?)?;
    m.add_function(wrap_pyfunction!(recon::fdk, m)?)?;
    m.add_function(wrap_pyfunction!(recon::cgls, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::nema_iec, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::nema_regions, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::nema_recovery, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::nema_nu2, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::shepp_logan, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::shepp_logan_sinogram, m)?)?;
    m.add_function(wrap_pyfunction!(adapters, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::spect_ct, m)?)?;
    m.add_function(wrap_pyfunction!(recon_pet::recon_pet, m)?)?;
    m.add_function(wrap_pyfunction!(batch::batch, m)?)?;
    m.add_function(wrap_pyfunction!(batch::batch_plan, m)?)?;
    m.add_function(wrap_pyfunction!(batch::batch_study, m)?)?;
    m.add_function(wrap_pyfunction!(batch::batch_failed, m)?)?;
    m.add_function(wrap_pyfunction!(batch::batch_log, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::pet_ct, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::fuse_pet_ct, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::hu_to_mu, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::attenuation_coefficients, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::bone_ct_number, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::register_rigid, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::rigid_move_grid, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::rigid_apply, m)?)?;
    io::register(m)?;
    pet::register(m)?;
    fusion::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
