//! Whole-body SPECT-CT: the beds of one study, read and corrected as one bed is
//! ([`spect_ct_from`]), in one volume over the CT, reconstructed jointly or each on its own
//! and stitched ([`MultiBed`]).
//!
//! Along the beds' common slice axis the union of their fields of view becomes one grid (the
//! lowest bed's lattice, extended).
//!
//! **Joint** ([`MultiBed::Joint`], the default): one OSEM over the whole volume through
//! [`SpectBeds`], every bed's views in every subset, so the overlap is reconstructed from both
//! beds' data at once. Each bed counts the detector rows of its camera's field of view, less
//! [`JOINT_EDGE_MM`] at each end (the field's penumbra, which the model does not know); beds
//! of other times per view or decay are scaled to the first. Slices that only uncounted rows
//! measure ([`SpectBeds::measured_slices`]) are 0 in the volume and its weight: the
//! reconstruction piles there what the counted rows do not explain.
//!
//! **Stitched** ([`MultiBed::Stitched`]): each bed reconstructed on its own, and each bed's image
//! weighted by its own sensitivity image
//! (`Aᵀm` of its model: attenuation, collimator response and the views it has, `m` the
//! detector bins its camera measured), so in the overlap every voxel is the
//! sensitivity-weighted mean of the beds that see it, `Σ_b s_b x_b / Σ_b s_b`: a bed's edge
//! slices, which its camera sees poorly or not at all, count little, and the volume has no
//! step where a bed ends. Beds whose slices fall between the union's
//! are interpolated linearly along the slice axis (weights and weighted images alike). Slices
//! where no bed's rows weigh at least half (the outer ends of the outer beds) are 0: there a
//! bed's hot edge slices would stand alone.

use super::spect_ct::{Prepared, SpectCt, SpectCtOptions, Stage, prepare, reconstruct};
use super::summary::Summary;
use crate::error::{Error, Result};
use crate::geometry::PatientGrid;
use crate::io::dicom::{
    Reference, SeriesWriter, WriteModality, read_ct_series, read_nm_projections,
};
use crate::operator::LinearOperator;
use crate::projector::{SpectBed, SpectBeds, SpectProjector, mark_measured};
use ndarray::{Array3, ArrayD, Axis, Ix3};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How the beds of a study become one volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MultiBed {
    /// One OSEM of the whole volume from every bed's data (see the module docs).
    #[default]
    Joint,
    /// Each bed reconstructed on its own, the images stitched by sensitivity ([`stitch`]).
    Stitched,
}

/// The beds of one study in one volume.
#[derive(Debug, Clone)]
pub struct BedsVolume {
    /// The activity `[z, y, x]` on `grid`, in `units` (0 where no bed sees a voxel).
    pub image: Array3<f32>,
    /// The union of the beds' fields of view, in the CT's frame of reference.
    pub grid: PatientGrid,
    /// The units of every bed (`"CPS"` or `"BQML"`).
    pub units: &'static str,
    /// Stitched: the summed weights `Σ_b s_b`; joint: the model's sensitivity image `Aᵀ m`
    /// (`m` the factors of the rows counted), on `grid`.
    pub weight: Array3<f32>,
}

/// A whole-body SPECT-CT: the volume and each bed's part.
#[derive(Debug)]
pub struct SpectCtBeds {
    /// The beds in one volume.
    pub volume: BedsVolume,
    /// How the volume was made.
    pub method: MultiBed,
    /// Each bed, lowest first along the slice axis: stitched, its own reconstruction; joint,
    /// the volume over its grid.
    pub beds: Vec<SpectCt>,
}

/// Reads the beds' NM files and the CT, reads and corrects each bed as [`spect_ct_from`]
/// does, and reconstructs them jointly or stitches their reconstructions, as `method` says; `progress(bed, stage)` is told each bed's stages (`None`: the joint
/// reconstruction of them all).
///
/// # Errors
/// What [`spect_ct_from`] and [`stitch`] report (beds of other studies, collimators, units;
/// shifted across the slice axis; gaps); reading errors.
pub fn spect_ct_beds(
    nm_paths: &[PathBuf],
    ct_path: &Path,
    options: &SpectCtOptions,
    method: MultiBed,
    mut progress: Option<&mut dyn FnMut(Option<usize>, Stage)>,
) -> Result<SpectCtBeds> {
    if nm_paths.is_empty() {
        return Err(Error::InvalidArgument(
            "no NM files given; expected one per bed".into(),
        ));
    }
    let ct = Arc::new(read_ct_series(
        ct_path,
        &options.ct_series,
        &options.limits,
    )?);
    let mut tell = |bed: Option<usize>, stage| {
        if let Some(p) = progress.as_deref_mut() {
            p(bed, stage)
        }
    };
    let mut prepared = Vec::with_capacity(nm_paths.len());
    for (b, path) in nm_paths.iter().enumerate() {
        tell(Some(b), Stage::Reading);
        let nm = read_nm_projections(path, &options.limits)?;
        prepared.push(prepare(nm, path, Arc::clone(&ct), options, &mut |s| {
            tell(Some(b), s)
        })?);
    }
    let results: Vec<&SpectCt> = prepared.iter().map(|p| &p.result).collect();
    for (b, bed) in results.iter().enumerate().skip(1) {
        same_acquisition(results[0], bed, b)?;
    }
    let lattice = Lattice::of(&results)?;
    let (volume, mut beds) = match method {
        MultiBed::Joint => joint(prepared, &lattice, options, &mut |s| tell(None, s))?,
        MultiBed::Stitched => {
            let mut beds = Vec::with_capacity(prepared.len());
            for (b, bed) in prepared.into_iter().enumerate() {
                beds.push(bed.reconstruct_alone(&mut |s| tell(Some(b), s))?);
            }
            (stitch_on(&beds, &lattice)?, beds)
        }
    };
    // Lowest first along the slice axis.
    let axis = beds[0].grid.axes[2];
    let along = |b: &SpectCt| (0..3).map(|i| b.grid.origin[i] * axis[i]).sum::<f64>();
    beds.sort_by(|a, b| along(a).total_cmp(&along(b)));
    Ok(SpectCtBeds {
        volume,
        method,
        beds,
    })
}

/// Distance (mm) from each end of a bed's measured rows within which a joint reconstruction
/// does not count them: the edge of the camera's field of view shades its last rows (about 4
/// rows of 4.42 mm on the real Lu-177 study ramp from 3 % to full counts), which the model,
/// knowing no field edge, would read as less activity, against the other bed's data.
pub const JOINT_EDGE_MM: f64 = 20.0;

/// One OSEM of every bed's data over the whole volume (see the module docs).
fn joint(
    prepared: Vec<Prepared>,
    lattice: &Lattice,
    options: &SpectCtOptions,
    tell: &mut dyn FnMut(Stage),
) -> Result<(BedsVolume, Vec<SpectCt>)> {
    let mut beds = Vec::with_capacity(prepared.len());
    for (p, &first) in prepared.iter().zip(&lattice.first) {
        let row_mm = p.result.grid.spacing[0];
        let rows_used = measured_reach(&p.result)
            .iter()
            .map(|&r| r as f64 * row_mm >= JOINT_EDGE_MM)
            .collect();
        // Table travels a whole number of slices to within 1/1000 of one are whole.
        let whole = first.round();
        beds.push(SpectBed {
            projector: p.projector()?,
            offset: if (first - whole).abs() < 1e-3 {
                whole
            } else {
                first
            },
            rows_used: Some(rows_used),
            scale: (prepared[0].scale / p.scale) as f32,
        });
    }
    let [nz, ny, nx] = lattice.grid.shape;
    let model = SpectBeds::new(beds, nz)?;
    let views: Vec<_> = prepared.iter().map(|p| p.counts()).collect();
    let counts = ndarray::concatenate(Axis(0), &views).expect("beds of one detector");
    let scatter: Option<Vec<_>> = prepared
        .iter()
        .map(|p| p.scatter.as_ref().map(|s| s.view()))
        .collect();
    let scatter = scatter.map(|s| ndarray::concatenate(Axis(0), &s).expect("one detector"));
    let t = Instant::now();
    let mut x = reconstruct(&model, counts.view(), scatter.as_ref(), options, tell)?;
    let seconds = t.elapsed().as_secs_f64();
    let mut weight = vec![0.0f32; nz * ny * nx];
    model.adjoint_into(&vec![1.0; counts.len()], &mut weight)?;
    let mut weight = Array3::from_shape_vec((nz, ny, nx), weight).expect("volume shape");
    // Slices only uncounted rows measure hold what the counted rows did not explain (on the
    // real study, 24 % of the volume's counts in its end slices, up to 275× the body's
    // hottest voxel): not a measurement, so 0, as the stitched volume has them.
    for (k, measured) in model.measured_slices().into_iter().enumerate() {
        if !measured {
            x.index_axis_mut(Axis(0), k).fill(0.0);
            weight.index_axis_mut(Axis(0), k).fill(0.0);
        }
    }
    let backend = model.beds()[0].projector.backend().clone();
    let scale0 = prepared[0].scale;
    let volume = BedsVolume {
        image: x.mapv(|v| (v as f64 * scale0) as f32),
        grid: lattice.grid.clone(),
        units: prepared[0].result.units,
        weight,
    };
    let beds = prepared
        .into_iter()
        .enumerate()
        .map(|(b, p)| {
            // The bed's own reconstruction variable: what it sees of the volume, in its counts.
            let own = (scale0 / p.scale) as f32;
            let image = model.bed_image(b, x.view())?.mapv(|v| v * own);
            Ok(p.finish(image, backend.clone(), seconds))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((volume, beds))
}

/// The union grid of beds on one lattice.
#[derive(Debug)]
struct Lattice {
    /// The union of the beds' fields of view.
    grid: PatientGrid,
    /// Each bed's slice 0 as a (fractional) slice of `grid`.
    first: Vec<f64>,
    /// Bed indices, lowest first along the slice axis.
    order: Vec<usize>,
}

/// Stitches the reconstructions of several beds of one study (see the module docs).
///
/// # Errors
/// [`Error::InvalidArgument`] for no bed; beds of different studies, frames of reference,
/// collimators, cameras, photopeaks or units; beds whose grids differ in axes, spacing or
/// shape across the slices, or are not offset along the slice axis only; a bed that does not
/// overlap the next one (a gap, or beds that only touch: the overlap is what makes the
/// junction seamless). Errors of the projector making the sensitivity images.
pub fn stitch(beds: &[SpectCt]) -> Result<BedsVolume> {
    let first = beds
        .first()
        .ok_or_else(|| Error::InvalidArgument("no beds to stitch; expected at least one".into()))?;
    for (b, bed) in beds.iter().enumerate().skip(1) {
        same_acquisition(first, bed, b)?;
    }
    let all: Vec<&SpectCt> = beds.iter().collect();
    stitch_on(beds, &Lattice::of(&all)?)
}

impl Lattice {
    /// The union grid of `beds`.
    ///
    /// # Errors
    /// As [`stitch`], for the grids and the overlaps.
    fn of(beds: &[&SpectCt]) -> Result<Self> {
        let g0 = beds[0].grid.clone();
        let axis = g0.axes[2];
        let dz = g0.spacing[0];
        // Each bed's offset along the slice axis from the first's origin, in slices.
        let mut offsets = Vec::with_capacity(beds.len());
        for (b, bed) in beds.iter().enumerate() {
            let g = &bed.grid;
            let close =
                |a: &[f64; 3], c: &[f64; 3]| a.iter().zip(c).all(|(x, y)| (x - y).abs() < 1e-6);
            if !(g.axes.iter().zip(&g0.axes).all(|(a, c)| close(a, c))
                && g.spacing
                    .iter()
                    .zip(&g0.spacing)
                    .all(|(a, c)| (a - c).abs() < 1e-6 * c)
                && g.shape[1..] == g0.shape[1..])
            {
                return Err(Error::InvalidArgument(format!(
                    "bed {b}'s grid ({:?} voxels of {:?} mm, axes {:?}) differs from bed 0's ({:?} of \
                 {:?} mm, axes {:?}) in axes, spacing or slice size; beds must share one lattice",
                    g.shape, g.spacing, g.axes, g0.shape, g0.spacing, g0.axes
                )));
            }
            let d: Vec<f64> = (0..3).map(|i| g.origin[i] - g0.origin[i]).collect();
            let along = (0..3).map(|i| d[i] * axis[i]).sum::<f64>();
            let across: f64 = (0..3)
                .map(|i| (d[i] - along * axis[i]).powi(2))
                .sum::<f64>()
                .sqrt();
            if across > 0.01 * g0.spacing[2] {
                return Err(Error::InvalidArgument(format!(
                    "bed {b} is shifted {across:.2} mm across the slice axis from bed 0; beds must \
                 differ only by the table's travel along it"
                )));
            }
            offsets.push(along / dz);
        }
        // Beds in order along the axis, each overlapping the next.
        let mut order: Vec<usize> = (0..beds.len()).collect();
        order.sort_by(|&a, &b| offsets[a].total_cmp(&offsets[b]));
        for w in order.windows(2) {
            let (lo, hi) = (w[0], w[1]);
            let end = offsets[lo] + (beds[lo].grid.shape[0] - 1) as f64;
            let overlap = end - offsets[hi];
            if overlap <= 0.0 {
                return Err(Error::InvalidArgument(format!(
                    "beds {lo} and {hi} {} ({:.1} mm apart along the slice axis); stitching needs beds \
                 that overlap",
                    if overlap < 0.0 {
                        "leave a gap"
                    } else {
                        "only touch"
                    },
                    -overlap * dz
                )));
            }
        }
        let start = offsets[order[0]];
        let end = order
            .iter()
            .map(|&b| offsets[b] + (beds[b].grid.shape[0] - 1) as f64)
            .fold(f64::NEG_INFINITY, f64::max);
        // Every bed's last slice inside: a bed whose slices fall between the union's reaches into
        // one more.
        let nz = ((end - start) - 1e-6).ceil() as usize + 1;
        let [_, ny, nx] = g0.shape;
        let origin: [f64; 3] = std::array::from_fn(|i| g0.origin[i] + start * dz * axis[i]);
        let grid = PatientGrid::new([nz, ny, nx], g0.spacing, origin, g0.axes)?;
        Ok(Self {
            grid,
            first: offsets.iter().map(|o| o - start).collect(),
            order,
        })
    }
}

/// [`stitch`] of beds already checked, on their union grid.
fn stitch_on(beds: &[SpectCt], lattice: &Lattice) -> Result<BedsVolume> {
    let grid = lattice.grid.clone();
    let [nz, ny, nx] = grid.shape;
    let dz = grid.spacing[0];
    let mut sum = Array3::<f64>::zeros((nz, ny, nx));
    let mut weight = Array3::<f64>::zeros((nz, ny, nx));
    // Slices some bed's rows weigh at least half in ([`mark_measured`]): the others' values
    // are a bed's edge slices alone (blurred sensitivity from its weighted rows makes their
    // weight small but not 0), which run hot.
    let mut measured = vec![false; nz];
    for &b in &lattice.order {
        let bed = &beds[b];
        let rows = row_weights(bed);
        let s = sensitivity(bed, &rows)?;
        mark_measured(&rows, lattice.first[b], &mut measured);
        let n = bed.grid.shape[0];
        for k in 0..nz {
            // Position of union slice k in bed b's slices.
            let f = k as f64 - lattice.first[b];
            if f < -1e-6 || f > (n - 1) as f64 + 1e-6 {
                continue;
            }
            let f = f.clamp(0.0, (n - 1) as f64);
            let (i0, t) = (f.floor() as usize, f - f.floor());
            let i1 = (i0 + 1).min(n - 1);
            let (s0, s1) = (s.index_axis(Axis(0), i0), s.index_axis(Axis(0), i1));
            let (x0, x1) = (
                bed.image.index_axis(Axis(0), i0),
                bed.image.index_axis(Axis(0), i1),
            );
            let mut out_sum = sum.index_axis_mut(Axis(0), k);
            let mut out_w = weight.index_axis_mut(Axis(0), k);
            ndarray::Zip::from(&mut out_sum)
                .and(&mut out_w)
                .and(&s0)
                .and(&s1)
                .and(&x0)
                .and(&x1)
                .for_each(|o, w, &a0, &a1, &v0, &v1| {
                    let (a0, a1) = (a0 as f64, a1 as f64);
                    let wi = (1.0 - t) * a0 + t * a1;
                    *w += wi;
                    *o += (1.0 - t) * a0 * v0 as f64 + t * a1 * v1 as f64;
                });
        }
    }
    // Between the lowest and the highest measured slice, no slice may lack every bed's data.
    if let (Some(lo), Some(hi)) = (
        measured.iter().position(|&m| m),
        measured.iter().rposition(|&m| m),
    ) && let Some(hole) = (lo..=hi).find(|&k| !measured[k])
    {
        let end = (hole..=hi).find(|&k| measured[k]).unwrap_or(hi);
        return Err(Error::InvalidArgument(format!(
            "the beds' measured fields of view leave slices {hole}..{end} ({:.1} mm) without \
             data: they overlap too little ({EDGE_MM} mm at each bed's end are not used)",
            (end - hole) as f64 * dz
        )));
    }
    for (k, _) in measured.iter().enumerate().filter(|(_, m)| !**m) {
        weight.index_axis_mut(Axis(0), k).fill(0.0);
    }
    let image = ndarray::Zip::from(&sum)
        .and(&weight)
        .map_collect(|&s, &w| if w > 0.0 { (s / w) as f32 } else { 0.0 });
    Ok(BedsVolume {
        image,
        grid,
        units: beds[0].units,
        weight: weight.mapv(|w| w as f32),
    })
}

/// Bed `b` against bed 0: the same study, frame of reference, camera, collimator, photopeak
/// and units.
fn same_acquisition(first: &SpectCt, bed: &SpectCt, b: usize) -> Result<()> {
    let differ = |what: &str, a: String, c: String| {
        Err(Error::InvalidArgument(format!(
            "bed {b} differs from bed 0 in {what} ({c} against {a}); stitch beds of one acquisition"
        )))
    };
    let (n0, n) = (&first.nm, &bed.nm);
    if n0.study_uid != n.study_uid {
        return differ(
            "study",
            format!("{:?}", n0.study_uid),
            format!("{:?}", n.study_uid),
        );
    }
    if n0.frame_of_reference_uid != n.frame_of_reference_uid {
        return differ(
            "frame of reference",
            format!("{:?}", n0.frame_of_reference_uid),
            format!("{:?}", n.frame_of_reference_uid),
        );
    }
    if n0.manufacturer != n.manufacturer || n0.collimator != n.collimator {
        return differ(
            "camera or collimator",
            format!("{:?} {:?}", n0.manufacturer, n0.collimator),
            format!("{:?} {:?}", n.manufacturer, n.collimator),
        );
    }
    if first.collimator != bed.collimator {
        return differ(
            "the collimator response modelled",
            format!("{:?}", first.collimator),
            format!("{:?}", bed.collimator),
        );
    }
    let window = |r: &SpectCt| {
        let w = &r.nm.windows[r.photopeak];
        (w.lower_kev, w.upper_kev)
    };
    if window(first) != window(bed) {
        return differ(
            "photopeak window",
            format!("{:?}", window(first)),
            format!("{:?}", window(bed)),
        );
    }
    if first.units != bed.units {
        return differ("units", first.units.into(), bed.units.into());
    }
    Ok(())
}

/// Distance (mm) from each end of a bed's measured rows within which its rows weigh nothing,
/// and over which the weight then rises to 1. A bed's edge slices are unreliable: the field of
/// view's penumbra covers the last rows partly, and activity beyond the field of view, blurred
/// into them, is reconstructed there, so they run hot (on the real Lu-177 study, up to twice
/// the neighbouring slices over about 25 mm); the other bed takes over.
const EDGE_MM: f64 = 25.0;
const TAPER_MM: f64 = 10.0;

/// The bed's sensitivity image on its grid: its model (views, collimator response, μ-map)
/// back-projecting its detector rows weighted by `rows` ([`row_weights`], one per row).
fn sensitivity(bed: &SpectCt, rows: &[f32]) -> Result<Array3<f32>> {
    let geometry = bed.nm.spect_geometry(Some(bed.collimator))?;
    let projector = SpectProjector::new(
        geometry,
        bed.nm.image_grid()?,
        bed.mu_map.as_ref().map(|m| m.view()),
        bed.options.backend,
    )?;
    let shape = projector.data_shape();
    let mask = ArrayD::from_shape_fn(shape, |i| rows[i[1]]);
    Ok(projector
        .adjoint(mask.view())?
        .into_dimensionality::<Ix3>()
        .expect("3D model"))
}

/// Each detector row's weight in a stitch: 0 within [`EDGE_MM`] of an unmeasured row (or the
/// matrix's end), rising linearly to 1 over the next [`TAPER_MM`].
fn row_weights(bed: &SpectCt) -> Vec<f32> {
    let row_mm = bed.grid.spacing[0];
    measured_reach(bed)
        .iter()
        .map(|&r| ((r as f64 * row_mm - EDGE_MM) / TAPER_MM).clamp(0.0, 1.0) as f32)
        .collect()
}

/// For each detector row of a bed, how many rows it lies from the nearest unmeasured row (or
/// past the matrix's end): 0 for an unmeasured row. A row counts as measured when all its
/// counts (every view, every energy window) reach 1 % of the median row's. Matrices are often
/// larger than the camera's field of view (128 rows of 4.42 mm are 566 mm; a 40 cm field of
/// view leaves about 17 rows at each end with stray counts only).
fn measured_reach(bed: &SpectCt) -> Vec<usize> {
    let rows = bed.nm.counts[0].shape()[1];
    let mut totals = vec![0.0f64; rows];
    for counts in &bed.nm.counts {
        for ((_, r, _), &v) in counts.indexed_iter() {
            totals[r] += v as f64;
        }
    }
    let mut sorted = totals.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[rows / 2];
    let seen: Vec<bool> = totals
        .iter()
        .map(|&t| t > 0.0 && t >= 0.01 * median)
        .collect();
    (0..rows)
        .map(|r| {
            let below = (0..=r).rev().find(|&u| !seen[u]).map_or(r + 1, |u| r - u);
            let above = (r..rows).find(|&u| !seen[u]).map_or(rows - r, |u| u - r);
            below.min(above)
        })
        .collect()
}

/// Files [`SpectCtBeds::write`] wrote.
#[derive(Debug, Clone)]
pub struct SpectCtBedsFiles {
    /// The DICOM series of the volume, one file per slice.
    pub dicom: Vec<PathBuf>,
    /// Its Series Instance UID.
    pub series_uid: String,
    /// The volume as NIfTI.
    pub nifti: PathBuf,
    /// The one-page summary.
    pub summary_png: PathBuf,
}

impl SpectCtBeds {
    /// Writes the volume into `folder`: a DICOM NM series over the CT (`dicom/`),
    /// `recon.nii.gz` and `summary.png` ([`SpectCtBeds::summary_page`]). Existing results are
    /// never overwritten; files are written atomically.
    ///
    /// # Errors
    /// I/O and DICOM errors; results already in `folder`.
    pub fn write(&self, folder: &Path) -> Result<SpectCtBedsFiles> {
        let nifti = folder.join("recon.nii.gz");
        let summary_png = folder.join("summary.png");
        crate::io::check_output_folder(folder, &SpectCt::OUTPUTS)?;
        let first = &self.beds[0];
        let reference = Reference::from_file(&first.ct.volume.files[0])?;
        let o = &first.options;
        let st = &self.volume;
        let writer = SeriesWriter {
            description: format!(
                "tomors SPECT {:.0} keV OSEM {}x{} {} beds {}{}{}",
                o.photopeak_kev,
                o.iterations,
                o.subsets,
                self.beds.len(),
                match self.method {
                    MultiBed::Joint => "joint",
                    MultiBed::Stitched => "stitched",
                },
                if first.mu_map.is_some() { " AC" } else { "" },
                if first.scatter_windows.0.is_some() {
                    " SC"
                } else {
                    ""
                },
            ),
            ..SeriesWriter::new(WriteModality::Nm, st.units).with_reference(reference)
        };
        let written = writer.write(st.image.view(), &st.grid, &folder.join("dicom"))?;
        crate::io::nifti::write_nifti(st.image.view(), &st.grid, &nifti, st.units)?;
        crate::fusion::write_png(self.summary_page()?.view(), &summary_png)?;
        Ok(SpectCtBedsFiles {
            dicom: written.files,
            series_uid: written.series_uid,
            nifti,
            summary_png,
        })
    }

    /// The one-page summary of the volume over the CT: its MIP, the planes through its hottest
    /// voxel fused over the CT, the first bed's settings, how the beds were combined, every
    /// bed's warnings, and the volumes of interest.
    ///
    /// # Errors
    /// Only resampling errors, which volumes on valid grids do not produce.
    pub fn summary_page(&self) -> Result<Array3<u8>> {
        let first = &self.beds[0];
        let mut lines = first.settings();
        lines.push(format!(
            "{} beds {}, {}x{}x{} voxels",
            self.beds.len(),
            match self.method {
                MultiBed::Joint => "reconstructed jointly",
                MultiBed::Stitched => "stitched by sensitivity",
            },
            self.volume.grid.shape[2],
            self.volume.grid.shape[1],
            self.volume.grid.shape[0]
        ));
        lines.extend(
            self.beds
                .iter()
                .flat_map(|b| &b.warnings)
                .map(|w| format!("WARNING: {w}")),
        );
        Summary {
            image: self.volume.image.view(),
            grid: &self.volume.grid,
            units: self.volume.units,
            ct: first.ct.volume.data.view(),
            ct_grid: &first.ct.volume.grid,
            mu_map: None,
            lines,
        }
        .page()
    }
}
