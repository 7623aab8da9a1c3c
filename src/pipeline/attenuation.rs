//! The attenuation map of an emission reconstruction from its CT, shared by SPECT-CT and
//! PET-CT: CT numbers → μ at the emission energy, averaged onto the emission grid, with a
//! check that the CT covers the body the emission data see.

use ndarray::{Array3, Axis};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::fusion::{Resampling, resample};
use crate::geometry::PatientGrid;
use crate::io::dicom::CtSeries;
use crate::physics::HuToMu;

/// μ (1/mm) at `kev` on `grid` from `ct`: `curve`, or [`HuToMu::at_energy`] at the CT's kVp,
/// applied voxel by voxel on the CT, then averaged over each emission voxel on `backend`
/// (air beyond the CT). Where the CT stops short of the body inside `grid`, a warning is
/// pushed onto `warnings`, or with `require_full_ct` an error returned.
///
/// # Errors
/// [`Error::InvalidArgument`] for a CT without kVp and no curve, an energy outside the tables,
/// or (with `require_full_ct`) a CT short of the body; resampling errors.
pub(crate) fn attenuation_map(
    ct: &CtSeries,
    grid: &PatientGrid,
    kev: f64,
    curve: Option<HuToMu>,
    require_full_ct: bool,
    backend: Backend,
    warnings: &mut Vec<String>,
) -> Result<(Array3<f32>, HuToMu)> {
    let curve = match curve {
        Some(c) => c,
        None => {
            let kvp = ct.kvp.ok_or_else(|| {
                Error::InvalidArgument(
                    "the CT gives no kVp (0018,0060): give the HU → μ curve yourself".into(),
                )
            })?;
            HuToMu::at_energy(kev, kvp)?
        }
    };
    if let Some(gap) = coverage_gap(ct, grid) {
        if require_full_ct {
            return Err(Error::InvalidArgument(format!(
                "{gap}; give a CT covering the whole field of view, or accept air beyond it \
                 (require_full_ct off)"
            )));
        }
        warnings.push(format!(
            "{gap}: tissue beyond the CT is taken as air, so it is under-corrected there"
        ));
    }
    let v = &ct.volume;
    let mu_ct = curve.apply(v.data.view())?;
    let mu = resample(
        mu_ct.view(),
        &v.grid,
        grid,
        0.0,
        Resampling::Average,
        backend,
    )?;
    Ok((mu, curve))
}

/// Tissue (> −500 HU) on a face of the CT counts as cut off when one emission voxel further
/// out still lies in the emission field of view; more than this area of it is refused.
const MAX_CUT_TISSUE_MM2: f64 = 1000.0;

/// Says where the CT's boundary cuts through tissue inside the emission field of view `grid`.
fn coverage_gap(ct: &CtSeries, grid: &PatientGrid) -> Option<String> {
    let v = &ct.volume;
    let g = &v.grid;
    let step = grid.spacing.iter().copied().fold(0.0, f64::max);
    let inside_emission = |p: [f64; 3]| {
        let i = grid.index_of(p);
        (0..3).all(|k| i[k] >= -0.5 && i[k] <= grid.shape[k] as f64 - 0.5)
    };
    let names = ["slice", "row", "column"];
    for axis in 0..3 {
        let others: Vec<usize> = (0..3).filter(|&k| k != axis).collect();
        // Outward direction of the face at index 0 along `axis` (patient coordinates).
        let dir = g.axes[2 - axis];
        let face_area = (0..3)
            .filter(|&k| k != axis)
            .map(|k| g.spacing[k])
            .product::<f64>();
        for (side, index) in [(-1.0, 0), (1.0, g.shape[axis] - 1)] {
            let face = v.data.index_axis(Axis(axis), index);
            let mut cut = 0.0;
            for ((a, b), &hu) in face.indexed_iter() {
                if hu <= -500.0 {
                    continue;
                }
                let mut idx = [0.0; 3];
                idx[axis] = index as f64;
                idx[others[0]] = a as f64;
                idx[others[1]] = b as f64;
                let p = g.position(idx);
                let beyond = [0, 1, 2].map(|k| p[k] + side * step * dir[k]);
                if inside_emission(p) && inside_emission(beyond) {
                    cut += face_area;
                }
            }
            if cut > MAX_CUT_TISSUE_MM2 {
                return Some(format!(
                    "the CT does not cover the emission field of view: its {} {} ({index}) cuts \
                     through {:.0} cm² of tissue the emission data see beyond it",
                    if side < 0.0 { "first" } else { "last" },
                    names[axis],
                    cut / 100.0
                ));
            }
        }
    }
    None
}
