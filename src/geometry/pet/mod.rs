//! 3D PET: cylindrical scanners ([`PetScanner`]) and their sinogram layouts
//! ([`SinogramLayout`]: segments, span, view mashing, time of flight).

mod scanner;
mod sinogram;

pub use scanner::{EnergyWindow, MM_PER_PS, PetScanner, TofBins};
pub use sinogram::{Crystal, Segment, SinogramBin, SinogramLayout};
