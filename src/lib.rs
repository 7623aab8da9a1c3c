//! # tomors: tomographic reconstruction on the GPU, and just as correct on the CPU
//!
//! Matched projector pairs and filtered back-projection for parallel-, fan- and cone-beam data
//! (FDK, streamed in slabs for volumes of any size),
//! SPECT and PET system models (attenuation, collimator-detector response, normalisation)
//! with MLEM/OSEM and MAP-EM, and ordered-subsets algorithms for CT; each compute stage a
//! WGSL shader run through [wgpu](https://wgpu.rs) with a rayon CPU twin that gives the same
//! numbers.
//!
//! ## Quick start
//! ```
//! use tomors::{Backend, Fbp, ImageGrid, ParallelBeam, Projector, RampFilter};
//! use tomors::phantom::EllipsePhantom;
//!
//! // A 64×64 slice of 2 mm pixels, 90 views over 180°, 91 detector bins of 2 mm.
//! let grid = ImageGrid::new_2d([64, 64], [2.0, 2.0])?;
//! let angles = (0..90).map(|i| i as f64 * std::f64::consts::PI / 90.0).collect();
//! let geometry = ParallelBeam::new(angles, 91, 2.0)?;
//! let projector = Projector::new(geometry, grid, Backend::Auto)?;
//!
//! let phantom = EllipsePhantom::shepp_logan(60.0);
//! let sinogram = phantom.line_integrals(projector.geometry())?;      // exact, [90, 91]
//! let image = Fbp::new(&projector, RampFilter::default())?.reconstruct(sinogram.view().into_dyn())?;
//! assert_eq!(image.shape(), &[64, 64]);
//! # Ok::<(), tomors::Error>(())
//! ```
//!
//! ## Emission reconstruction
//! ```
//! use tomors::{Backend, Collimator, ImageGrid, Osem, SpectGeometry, SpectProjector};
//! use tomors::phantom::NemaIecPhantom;
//!
//! let grid = ImageGrid::new_3d([8, 32, 32], [4.0, 4.0, 4.0])?;
//! let (activity, mu) = NemaIecPhantom::default().rasterize(&grid, 1)?;
//! let angles = (0..32).map(|i| i as f64 * std::f64::consts::PI / 16.0).collect();
//! let geometry = SpectGeometry::new(angles, 200.0, 32, 4.0)?.with_collimator(Collimator::preset("lehr")?);
//! let spect = SpectProjector::new(geometry, grid, Some(mu.view()), Backend::Auto)?;
//! let counts = spect.forward(activity.view().into_dyn())?;          // expected counts [32, 8, 32]
//! let image = Osem::new(2, 4).run(&spect, counts.view())?;          // OSEM 2 iterations × 4 subsets
//! assert_eq!(image.shape(), &[8, 32, 32]);
//! # Ok::<(), tomors::Error>(())
//! ```
//! ## Cone-beam CT
//! ```
//! use tomors::{Backend, ConeBeam, ConeOrbit, ConeProjector, Fdk, ImageGrid, RampFilter};
//! use tomors::phantom::EllipsoidPhantom;
//!
//! // 60 views over 360°, a 40 × 48 flat panel of 1.2 mm pixels, source 120 mm from the axis.
//! let angles = (0..60).map(|i| i as f64 * std::f64::consts::PI / 30.0).collect();
//! let cone = ConeBeam::orbit(&ConeOrbit::new(angles, 40, 48, 1.2, 1.2, 120.0, 200.0))?;
//! let grid = ImageGrid::new_3d([24, 24, 24], [1.0; 3])?;
//! let data = EllipsoidPhantom::shepp_logan(10.0).solids().cone_projections(&cone);  // exact
//! let projector = ConeProjector::new(cone, grid, Backend::Auto)?;
//! let volume = Fdk::new(&projector, RampFilter::default())?.reconstruct(data.view())?;
//! assert_eq!(volume.shape(), &[24, 24, 24]);
//! # Ok::<(), tomors::Error>(())
//! ```
//! ## 3D PET
//! ```
//! use tomors::geometry::pet::{PetScanner, SinogramLayout, TofBins};
//! use tomors::phantom::{Solid, SolidPhantom};
//! use tomors::{Backend, ImageGrid, Osem, Pet3dProjector};
//!
//! // 8 rings of 4 mm, 64 crystals on a 60 mm radius, TOF (5 bins of 20 mm, 30 mm FWHM).
//! let scanner = PetScanner::new("small", 8, 64, 60.0, 2.0, 4.0)?
//!     .with_tof(TofBins::new(5, 20.0, 30.0)?);
//! let layout = SinogramLayout::new(scanner, 40, 3, 7, 1)?;   // span 3, ring differences ≤ 7
//! let grid = ImageGrid::new_3d([8, 24, 24], [4.0, 4.0, 4.0])?;
//! let phantom = SolidPhantom { solids: vec![(Solid::cylinder([0.0; 3], 30.0, 24.0), 1.0)] };
//! let data = phantom.sinogram(&layout);                       // exact TOF data, [views, planes, tof, bins]
//! let pet = Pet3dProjector::new(layout, grid, Backend::Auto)?;
//! let image = Osem::new(2, 4).run(&pet, data.view())?;
//! assert_eq!(image.shape(), &[8, 24, 24]);
//! # Ok::<(), tomors::Error>(())
//! ```
//! List mode: [`ListModeEvents`], [`ListModeProjector`] and [`recon::lm_osem`]; the scanners'
//! files: [`io::petlink`], [`io::siemens_norm`], [`io::interfile`]; end to end:
//! [`pipeline::reconstruct_pet`].
//!
//! [`PetProjector`] is the PET model (2D sinograms); [`recon::OrderedSubsets`] holds OS-SPS and
//! OS-SART for CT; [`physics`] the energy-window scatter estimates.
//!
//! ## DICOM
//! [`io::dicom`] reads CT and PET series, NM SPECT projections (geometry included) and NM
//! volumes, and writes reconstructions back as a series over the CT; [`io::nifti`] writes NIfTI.
//! ```no_run
//! use std::path::Path;
//! use tomors::io::dicom::{read_nm_projections, read_ct_series, ReadLimits, SeriesSelect};
//! use tomors::{Backend, Osem, SpectProjector};
//!
//! let nm = read_nm_projections(Path::new("NM/bed1_projections.dcm"), &ReadLimits::default())?;
//! let peak = nm.window_at(208.0).expect("a 208 keV window");
//! let geometry = nm.spect_geometry(Some(nm.collimator_at(208.0)?))?; // the header's collimator
//! let spect = SpectProjector::new(geometry, nm.image_grid()?, None, Backend::Auto)?;
//! let image = Osem::new(4, 10).run(&spect, nm.counts[peak].view().into_dyn())?;
//! let ct = read_ct_series(Path::new("CT"), &SeriesSelect::Largest, &ReadLimits::default())?;
//! # Ok::<(), tomors::Error>(())
//! ```
//!
//! ## Conventions
//! Lengths in mm, attenuation in 1/mm, angles in radians. Images are C-order `vol[z, y, x]`
//! (2D `img[y, x]`), patient coordinates DICOM LPS; projections are `proj[view, row, col]`
//! (2D `sino[view, col]`). At angle θ the detector axis is `u = (cos θ, sin θ)` and rays travel
//! along `d = (−sin θ, cos θ)`. A line integral is image value × mm: a uniform image of 1 seen
//! through 10 mm projects to 10, and FBP of line integrals of μ returns μ.
//!
//! ## Normalisation
//! [`Projector::forward`] returns line integrals (Joseph's method: linear interpolation
//! between the two voxel centres nearest each crossing, times the step length);
//! [`Projector::adjoint`] is its exact transpose (not a normalised back-projection).
//! [`Fbp`] returns image values.
//!
//! ## Backends
//! [`Backend::Auto`] uses a hardware GPU when wgpu finds one and the CPU twins otherwise;
//! [`Backend::Gpu`] insists on a wgpu adapter (software ones included) and fails without one;
//! [`Backend::Cpu`] always uses rayon. The choice is made once per plan.
//!
//! ## Feature flags
//! - `cli` (default): the `tomors` command line (clap, indicatif, png).

#![warn(missing_docs)]

mod array;
pub mod backend;
pub mod batch;
pub mod bench;
pub mod error;
pub mod filter;
pub mod fusion;
pub mod geometry;
pub mod io;
mod maths;
pub mod memory;
pub mod operator;
pub mod pacs;
pub mod phantom;
pub mod physics;
pub mod pipeline;
pub mod projector;
pub mod recon;
#[cfg(test)]
mod stage_parity;

pub use backend::{ActiveBackend, Backend};
pub use error::{Error, Result};
pub use filter::{FilterWindow, RampFilter};
pub use geometry::{
    Collimator, CollimatorSpec, ConeBeam, ConeDetector, ConeOrbit, ConeView, DetectorColumns,
    DetectorShape, FanBeam, Geometry, ImageGrid, ParallelBeam, PatientGrid, SpectGeometry,
};
pub use operator::{Emission, LinearOperator, SystemModel, ViewSubsets, Weighted};
pub use projector::{
    ConeProjector, ListModeEvents, ListModeProjector, Pet3dProjector, PetProjector, PlanOptions,
    Projector, SpectBed, SpectBeds, SpectProjector,
};
pub use recon::{Bsrem, Fbp, Fdk, FdkOptions, Osem, Prior, PriorKind, fbp, fdk};
