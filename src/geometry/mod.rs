//! Image grids and acquisition geometries (parallel, fan and cone beam, SPECT orbits, PET
//! scanners), and their lowering to per-view vectors.
//!
//! Every geometry is reduced to per-view vectors ([`crate::backend::layout::View`])
//! before any kernel runs, so kernels never see angles or detector kinds beyond a tag.

mod beam;
mod collimator;
mod cone;
mod grid;
mod lower;
pub(crate) mod patient;
pub mod pet;
mod spect;

pub use beam::{DetectorColumns, DetectorShape, FanBeam, Geometry, ParallelBeam};
pub use collimator::{Collimator, CollimatorSpec};
pub(crate) use cone::grid_corners;
pub use cone::{ConeBeam, ConeDetector, ConeOrbit, ConeOrbitView, ConeView};
pub use grid::ImageGrid;
pub(crate) use lower::{check_compatible, lower, ray};
pub use patient::PatientGrid;
pub use spect::SpectGeometry;
pub(crate) use spect::lower_spect;
