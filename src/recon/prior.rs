//! Priors for maximum-a-posteriori reconstruction (one-step-late EM, BSREM): smoothness penalties over the
//! 26-neighbourhood, each neighbour weighted by the inverse of its distance (in units of the
//! x spacing).

use crate::backend::layout::PriorParams;
use crate::error::{Error, Result};

/// The penalty `φ` on each pair of neighbours `j ~ k`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PriorKind {
    /// `φ = (x_j − x_k)² / 2`: smooths edges and noise alike.
    Quadratic,
    /// Relative difference (Nuyts et al. 2002): `φ = (x_j − x_k)² / (x_j + x_k + γ|x_j − x_k|)`,
    /// scaled to the local activity and gentler on edges as `γ` grows (γ ≥ 0; 2 is common).
    RelativeDifference {
        /// Edge preservation γ ≥ 0.
        gamma: f64,
    },
}

/// A prior `β · U(x)`, `U(x) = Σ_{pairs} w_jk φ(x_j, x_k)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// The penalty.
    pub kind: PriorKind,
    /// Its weight β ≥ 0 (in the units of the sensitivity image per unit of ∂U/∂x).
    pub beta: f64,
}

impl Prior {
    /// A quadratic prior of weight `beta`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or non-finite `beta`.
    pub fn quadratic(beta: f64) -> Result<Self> {
        Self::checked(PriorKind::Quadratic, beta)
    }

    /// A relative-difference prior of weight `beta` and edge preservation `gamma`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or non-finite `beta` or `gamma`.
    pub fn relative_difference(beta: f64, gamma: f64) -> Result<Self> {
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "relative-difference γ is {gamma}; expected a finite value ≥ 0"
            )));
        }
        Self::checked(PriorKind::RelativeDifference { gamma }, beta)
    }

    fn checked(kind: PriorKind, beta: f64) -> Result<Self> {
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "prior weight β is {beta}; expected a finite value ≥ 0"
            )));
        }
        Ok(Self { kind, beta })
    }

    /// The penalty `U(x) = ½ Σ_j Σ_{k ∈ N(j)} w_jk φ(x_j, x_k)` (each pair once) of
    /// `image[z, y, x]` with voxel `spacing` `[dz, dy, dx]` (mm), in f64: the function whose
    /// gradient the `prior_gradient` stage computes. The penalised objective is
    /// `L(x) − β · U(x)`.
    pub fn penalty(&self, image: ndarray::ArrayViewD<'_, f32>, spacing: [f64; 3]) -> f64 {
        let shape = image.shape().to_vec();
        let p = self.params(&shape, spacing);
        let (nz, ny, nx) = (shape[0] as i64, shape[1] as i64, shape[2] as i64);
        let x = image.as_standard_layout();
        let x = x.as_slice().expect("standard layout");
        let at = |z: i64, y: i64, xx: i64| x[((z * ny + y) * nx + xx) as usize] as f64;
        let gamma = p.gamma as f64;
        let mut total = 0.0;
        for z in 0..nz {
            for y in 0..ny {
                for xx in 0..nx {
                    let xj = at(z, y, xx);
                    // Neighbours after the voxel in index order: each pair once.
                    for i in 14..27i64 {
                        let (dz, dy, dx) = (i / 9 - 1, (i / 3) % 3 - 1, i % 3 - 1);
                        let (zz, yy, xk) = (z + dz, y + dy, xx + dx);
                        if zz < 0 || zz >= nz || yy < 0 || yy >= ny || xk < 0 || xk >= nx {
                            continue;
                        }
                        let w = p.weights[(i / 4) as usize][(i % 4) as usize] as f64;
                        let xk = at(zz, yy, xk);
                        let d = xj - xk;
                        total += w * match self.kind {
                            PriorKind::Quadratic => d * d / 2.0,
                            PriorKind::RelativeDifference { .. } => {
                                let s = xj + xk + gamma * d.abs();
                                if s > 0.0 { d * d / s } else { 0.0 }
                            }
                        };
                    }
                }
            }
        }
        total
    }

    /// The `prior_gradient` parameters for an image of `shape` (`[z, y, x]`) and voxel
    /// `spacing` (`[dz, dy, dx]`, mm).
    pub(crate) fn params(&self, shape: &[usize], spacing: [f64; 3]) -> PriorParams {
        let [dz, dy, dx] = spacing;
        let mut weights = [[0f32; 4]; 7];
        for i in 0..27usize {
            let (oz, oy, ox) = (
                (i / 9) as f64 - 1.0,
                ((i / 3) % 3) as f64 - 1.0,
                (i % 3) as f64 - 1.0,
            );
            let distance = (oz * dz).hypot(oy * dy).hypot(ox * dx);
            weights[i / 4][i % 4] = if i == 13 { 0.0 } else { (dx / distance) as f32 };
        }
        let (kind, gamma) = match self.kind {
            PriorKind::Quadratic => (0, 0.0),
            PriorKind::RelativeDifference { gamma } => (1, gamma as f32),
        };
        PriorParams {
            nx: shape[2] as u32,
            ny: shape[1] as u32,
            nz: shape[0] as u32,
            kind,
            gamma,
            _pad0: 0.0,
            _pad1: 0.0,
            _pad2: 0.0,
            weights,
        }
    }
}
