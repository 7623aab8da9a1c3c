//! The linear-operator layer: what every system model is to an algorithm or a test, written
//! once. A projector (or an operator of your own) implements [`LinearOperator`]'s four
//! required methods and gets the dot-product test and the operator norm.
//!
//! Buffers are flat `f32` slices in C order: an image of [`LinearOperator::in_shape`]
//! (`vol[z, y, x]`) and data of [`LinearOperator::out_shape`] (`proj[view, row, col]`).
//! `*_into` methods overwrite their output.
//!
//! [`SystemModel`] is what the EM family (MLEM, OSEM, OSL-MAP) runs on: a model that can keep
//! its image, data and sensitivity images resident on its backend between iterations.

use crate::ActiveBackend;
use crate::backend::resident::ResidentModel;
use crate::error::{Error, Result};
use ndarray::{ArrayD, ArrayViewD};
use std::ops::Range;

/// A linear map `A` from images to data, with its exact transpose `Aᵀ`.
pub trait LinearOperator {
    /// Shape of the input (an image, `[z, y, x]` or `[y, x]`).
    fn in_shape(&self) -> Vec<usize>;
    /// Shape of the output (projection data, `[view, row, col]` or `[view, col]`).
    fn out_shape(&self) -> Vec<usize>;
    /// `out ← A x` (`x` of [`Self::in_shape`], `out` of [`Self::out_shape`], both C order).
    ///
    /// # Errors
    /// Backend failures (a lost device, a buffer beyond its limits).
    fn forward_into(&self, x: &[f32], out: &mut [f32]) -> Result<()>;
    /// `out ← Aᵀ y` (`y` of [`Self::out_shape`], `out` of [`Self::in_shape`], both C order).
    ///
    /// # Errors
    /// Backend failures.
    fn adjoint_into(&self, y: &[f32], out: &mut [f32]) -> Result<()>;

    /// Dot-product test with signed random `x`, `y` uniform in `[−1, 1)` drawn from `seed`:
    /// `|⟨Ax, y⟩ − ⟨x, Aᵀy⟩| / (‖Ax‖·‖y‖)`, inner products accumulated in `f64`.
    ///
    /// Signed vectors matter: with positive ones, errors that cancel on average (an adjoint
    /// that puts a weight in the neighbouring bin) hide below the sum of positive terms.
    /// The normalisation by `‖Ax‖·‖y‖` (not by `⟨Ax, y⟩`, which is near 0 for signed vectors)
    /// makes the result the cosine-scale error: about 1e-7 for an exact pair in `f32`.
    ///
    /// # Errors
    /// Backend failures; [`Error::InvalidArgument`] when `Ax` is zero (nothing to compare).
    fn adjointness_test(&self, seed: u64) -> Result<f64> {
        let n_in: usize = self.in_shape().iter().product();
        let n_out: usize = self.out_shape().iter().product();
        let mut rng = SplitMix64(seed);
        let x: Vec<f32> = (0..n_in).map(|_| rng.next_signed()).collect();
        let y: Vec<f32> = (0..n_out).map(|_| rng.next_signed()).collect();
        let mut ax = vec![0.0; n_out];
        let mut aty = vec![0.0; n_in];
        self.forward_into(&x, &mut ax)?;
        self.adjoint_into(&y, &mut aty)?;
        let scale = dot(&ax, &ax).sqrt() * dot(&y, &y).sqrt();
        if scale == 0.0 {
            return Err(Error::InvalidArgument(
                "dot-product test: A x is zero for a random x (the operator sees nothing)".into(),
            ));
        }
        Ok((dot(&ax, &y) - dot(&x, &aty)).abs() / scale)
    }

    /// The operator norm `‖A‖₂`, estimated by `iterations` rounds of power iteration on
    /// `AᵀA` from an image of ones.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for zero iterations; backend failures.
    fn norm(&self, iterations: usize) -> Result<f64> {
        if iterations == 0 {
            return Err(Error::InvalidArgument(
                "norm needs at least 1 power iteration".into(),
            ));
        }
        let n_in: usize = self.in_shape().iter().product();
        let n_out: usize = self.out_shape().iter().product();
        let mut x = vec![1.0f32; n_in];
        let mut ax = vec![0.0; n_out];
        let mut next = vec![0.0; n_in];
        let mut estimate = 0.0;
        for _ in 0..iterations {
            let length = dot(&x, &x).sqrt();
            if length == 0.0 {
                return Ok(0.0);
            }
            let scale = (1.0 / length) as f32;
            x.iter_mut().for_each(|v| *v *= scale);
            self.forward_into(&x, &mut ax)?;
            self.adjoint_into(&ax, &mut next)?;
            estimate = dot(&x, &next).max(0.0).sqrt();
            std::mem::swap(&mut x, &mut next);
        }
        Ok(estimate)
    }
}

impl<A: LinearOperator + ?Sized> LinearOperator for &A {
    fn in_shape(&self) -> Vec<usize> {
        (**self).in_shape()
    }
    fn out_shape(&self) -> Vec<usize> {
        (**self).out_shape()
    }
    fn forward_into(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        (**self).forward_into(x, out)
    }
    fn adjoint_into(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        (**self).adjoint_into(y, out)
    }
}

/// A [`LinearOperator`] whose data are a stack of views (`out_shape()[0]` of them) that can be
/// restricted to some of them: what the ordered-subsets algorithms
/// ([`crate::recon::OrderedSubsets`]) run over.
pub trait ViewSubsets: LinearOperator {
    /// The operator of a subset of the views.
    type Subset: LinearOperator;
    /// The operator restricted to `views` (indices into `0..out_shape()[0]`): its data are
    /// those views, `[views.len(), ..]`, in the order given.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an index out of range; backend failures.
    fn subset(&self, views: &[usize]) -> Result<Self::Subset>;
}

impl<A: ViewSubsets + ?Sized> ViewSubsets for &A {
    type Subset = A::Subset;
    fn subset(&self, views: &[usize]) -> Result<Self::Subset> {
        (**self).subset(views)
    }
}

/// `W A`: an operator followed by a diagonal weighting of its data (`W = diag(weights)`), e.g.
/// attenuation and normalisation factors applied to line integrals. Its adjoint is `Aᵀ W`.
#[derive(Debug, Clone)]
pub struct Weighted<A> {
    op: A,
    weights: Vec<f32>,
}

impl<A: LinearOperator> Weighted<A> {
    /// `diag(weights) · op`, with one finite weight per data sample (`op.out_shape()`, C order).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a wrong number of weights; [`Error::NonFinite`].
    pub fn new(op: A, weights: Vec<f32>) -> Result<Self> {
        let shape = op.out_shape();
        if weights.len() != shape.iter().product::<usize>() {
            return Err(Error::ShapeMismatch {
                what: "weights",
                expected: shape,
                got: vec![weights.len()],
            });
        }
        crate::error::check_finite("weights", &weights)?;
        Ok(Self { op, weights })
    }
    /// The operator weighted.
    pub fn inner(&self) -> &A {
        &self.op
    }
    /// The weights, C order over the data.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }
}

impl<A: LinearOperator> LinearOperator for Weighted<A> {
    fn in_shape(&self) -> Vec<usize> {
        self.op.in_shape()
    }
    fn out_shape(&self) -> Vec<usize> {
        self.op.out_shape()
    }
    fn forward_into(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        self.op.forward_into(x, out)?;
        out.iter_mut().zip(&self.weights).for_each(|(o, w)| *o *= w);
        Ok(())
    }
    fn adjoint_into(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        let weighted: Vec<f32> = y.iter().zip(&self.weights).map(|(y, w)| y * w).collect();
        self.op.adjoint_into(&weighted, out)
    }
}

impl<A: ViewSubsets> ViewSubsets for Weighted<A> {
    type Subset = Weighted<A::Subset>;
    fn subset(&self, views: &[usize]) -> Result<Self::Subset> {
        let n_views = self.op.out_shape()[0];
        let view_len = self.weights.len() / n_views.max(1);
        let mut weights = Vec::with_capacity(views.len() * view_len);
        for &v in views {
            if v >= n_views {
                return Err(Error::InvalidArgument(format!(
                    "view {v} of a subset; the operator has {n_views} views"
                )));
            }
            weights.extend_from_slice(&self.weights[v * view_len..(v + 1) * view_len]);
        }
        Weighted::new(self.op.subset(views)?, weights)
    }
}

/// A system model iterative algorithms can run on: its shapes, and a plan that keeps every
/// buffer on its backend. Implemented by [`crate::SpectProjector`] and
/// [`crate::PetProjector`]; [`crate::Osem`] runs over it.
pub trait SystemModel {
    /// Image shape, `[z, y, x]`.
    fn image_shape(&self) -> Vec<usize>;
    /// Data shape, `[views, rows, cols]`.
    fn data_shape(&self) -> Vec<usize>;
    /// Voxel size `[dz, dy, dx]`, mm.
    fn spacing(&self) -> [f64; 3];
    /// Where the model runs.
    fn backend(&self) -> &ActiveBackend;
    /// Expected counts without background, `A x`.
    ///
    /// # Errors
    /// Bad shapes or values, or a GPU failure.
    fn expected(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>>;
    /// A resident plan whose views are `order` (indices into the acquisition), split into
    /// the contiguous plan-order ranges `subsets`; data-sized inputs (measured data,
    /// background, factors, list-mode events) beyond `max_resident_bytes` stay in host memory
    /// and are sent a subset at a time.
    ///
    /// # Errors
    /// A GPU failure or a buffer beyond the device's limits.
    #[doc(hidden)]
    fn plan(
        &self,
        order: &[usize],
        subsets: Vec<Range<usize>>,
        max_resident_bytes: Option<u64>,
    ) -> Result<ModelPlan>;
}

/// An opaque resident plan (see [`SystemModel::plan`]).
#[doc(hidden)]
pub struct ModelPlan(pub(crate) Box<dyn ResidentModel>);

/// Any [`ViewSubsets`] operator as an emission model: `Emission::new(op, spacing)` runs
/// [`crate::Osem`] (MLEM, OSEM, one-step-late MAP) over an operator of your own, e.g. a
/// [`Weighted`] projector. The EM steps run on the CPU twins; the operator's subsets are built
/// once per reconstruction and called through [`LinearOperator::forward_into`] and
/// [`LinearOperator::adjoint_into`] on host buffers.
#[derive(Debug, Clone)]
pub struct Emission<A> {
    op: A,
    spacing: [f64; 3],
}

impl<A: ViewSubsets> Emission<A> {
    /// `op` with images of voxel size `spacing` (`[dz, dy, dx]`, mm; what priors and the
    /// post-filter use).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a spacing that is not finite and positive.
    pub fn new(op: A, spacing: [f64; 3]) -> Result<Self> {
        if !spacing.iter().all(|d| d.is_finite() && *d > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "voxel spacing {spacing:?} mm; expected finite, positive values"
            )));
        }
        Ok(Self { op, spacing })
    }
}

/// The subsets of an [`Emission`] model, as a resident model's stage sequence: the image and
/// projections live in the host engine's buffers, the operator reads and writes copies.
struct OperatorSequence<S> {
    subsets: Vec<S>,
}

impl<S> std::fmt::Debug for OperatorSequence<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OperatorSequence({} subsets)", self.subsets.len())
    }
}

impl<S: LinearOperator + Send> crate::backend::models::Sequence for OperatorSequence<S> {
    fn forward(&mut self, core: &mut crate::backend::models::Core, subset: usize) -> Result<()> {
        let op = &self.subsets[subset];
        let mut x = vec![0.0f32; core.image_len];
        core.engine.read(core.image, 0, &mut x)?;
        let mut y = vec![0.0f32; op.out_shape().iter().product()];
        op.forward_into(&x, &mut y)?;
        core.engine.write(core.proj, 0, &y)
    }
    fn adjoint(&mut self, core: &mut crate::backend::models::Core, subset: usize) -> Result<()> {
        let op = &self.subsets[subset];
        let mut y = vec![0.0f32; op.out_shape().iter().product()];
        core.engine.read(core.proj, 0, &mut y)?;
        let mut x = vec![0.0f32; core.image_len];
        op.adjoint_into(&y, &mut x)?;
        core.engine.write(core.back, 0, &x)
    }
}

impl<A> SystemModel for Emission<A>
where
    A: ViewSubsets,
    A::Subset: Send + 'static,
{
    fn image_shape(&self) -> Vec<usize> {
        self.op.in_shape()
    }
    fn data_shape(&self) -> Vec<usize> {
        self.op.out_shape()
    }
    fn spacing(&self) -> [f64; 3] {
        self.spacing
    }
    fn backend(&self) -> &ActiveBackend {
        &ActiveBackend::Cpu
    }
    fn expected(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let image = crate::array::check_input("image", image, &self.op.in_shape())?;
        let shape = self.op.out_shape();
        let mut out = vec![0.0f32; shape.iter().product()];
        self.op
            .forward_into(image.as_slice().expect("standard layout"), &mut out)?;
        Ok(ArrayD::from_shape_vec(ndarray::IxDyn(&shape), out).expect("data shape"))
    }
    fn plan(
        &self,
        order: &[usize],
        subsets: Vec<Range<usize>>,
        max_resident_bytes: Option<u64>,
    ) -> Result<ModelPlan> {
        let ops = subsets
            .iter()
            .map(|r| self.op.subset(&order[r.clone()]))
            .collect::<Result<Vec<_>>>()?;
        let shape = self.op.out_shape();
        let view_len: usize = shape[1..].iter().product();
        let image_len = self.op.in_shape().iter().product();
        let engine = crate::backend::Device::resolve(crate::Backend::Cpu)?.engine();
        let core = crate::backend::models::Core::new(
            engine,
            subsets,
            (image_len, view_len),
            None,
            max_resident_bytes,
        )?;
        let sequence = OperatorSequence { subsets: ops };
        Ok(ModelPlan(Box::new(crate::backend::models::Resident::new(
            core, sequence,
        ))))
    }
}

/// Checks the lengths of a `forward_into` (`forward = true`) or `adjoint_into` call's buffers
/// against the operator's shapes.
///
/// # Errors
/// [`Error::ShapeMismatch`] naming the buffer and the length it should have.
pub(crate) fn check_lengths(
    in_shape: &[usize],
    out_shape: &[usize],
    input: usize,
    output: usize,
    forward: bool,
) -> Result<()> {
    let (image, data) = (in_shape.iter().product(), out_shape.iter().product());
    let (expect_in, expect_out, what_in, what_out) = if forward {
        (
            image,
            data,
            "operator input (image)",
            "operator output (data)",
        )
    } else {
        (
            data,
            image,
            "operator input (data)",
            "operator output (image)",
        )
    };
    for (what, expected, got) in [(what_in, expect_in, input), (what_out, expect_out, output)] {
        if got != expected {
            return Err(Error::ShapeMismatch {
                what,
                expected: vec![expected],
                got: vec![got],
            });
        }
    }
    Ok(())
}

/// f64 inner product of two f32 buffers.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// A small deterministic generator for test inputs (SplitMix64).
pub(crate) struct SplitMix64(pub u64);
impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in `[−1, 1)`.
    pub fn next_signed(&mut self) -> f32 {
        2.0 * self.next_f32() - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3 × 2 matrix and a deliberately wrong "transpose" of it.
    struct Matrix {
        wrong: bool,
    }
    const A: [[f32; 2]; 3] = [[1.0, 2.0], [0.5, -1.0], [3.0, 0.25]];
    impl LinearOperator for Matrix {
        fn in_shape(&self) -> Vec<usize> {
            vec![2]
        }
        fn out_shape(&self) -> Vec<usize> {
            vec![3]
        }
        fn forward_into(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
            for (o, row) in out.iter_mut().zip(&A) {
                *o = row[0] * x[0] + row[1] * x[1];
            }
            Ok(())
        }
        fn adjoint_into(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
            for (j, o) in out.iter_mut().enumerate() {
                *o = (0..3).map(|i| A[i][j] * y[i]).sum();
            }
            if self.wrong {
                out[0] += 0.1 * y[1];
            }
            Ok(())
        }
    }

    #[test]
    fn an_exact_pair_passes_and_a_wrong_one_fails() {
        let mut worst_wrong = 0.0f64;
        for seed in 0..5 {
            assert!(Matrix { wrong: false }.adjointness_test(seed).unwrap() < 1e-7);
            worst_wrong = worst_wrong.max(Matrix { wrong: true }.adjointness_test(seed).unwrap());
        }
        assert!(worst_wrong > 1e-2, "{worst_wrong}");
    }

    #[test]
    fn weighted_operators_stay_adjoint_and_weigh_their_data() {
        let w = Weighted::new(Matrix { wrong: false }, vec![2.0, -1.0, 0.5]).unwrap();
        assert!(w.adjointness_test(1).unwrap() < 1e-7);
        let mut out = [0.0f32; 3];
        w.forward_into(&[1.0, 1.0], &mut out).unwrap();
        assert_eq!(out, [6.0, 0.5, 1.625]);
        assert!(Weighted::new(Matrix { wrong: false }, vec![1.0; 2]).is_err());
        assert!(Weighted::new(Matrix { wrong: false }, vec![f32::NAN; 3]).is_err());
    }

    #[test]
    fn norm_is_the_largest_singular_value() {
        // AᵀA = [[10.25, 2.25], [2.25, 5.0625]]: largest eigenvalue 11.1001…, ‖A‖ = 3.33168…
        let (a, b, d) = (10.25f64, 2.25f64, 5.0625f64);
        let lambda = (a + d) / 2.0 + (((a - d) / 2.0).powi(2) + b * b).sqrt();
        let norm = Matrix { wrong: false }.norm(50).unwrap();
        assert!((norm - lambda.sqrt()).abs() < 1e-5, "{norm}");
        assert!(Matrix { wrong: false }.norm(0).is_err());
    }
}
