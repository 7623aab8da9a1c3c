//! `tomors fdk`: FDK reconstruction of a `.npy` cone-beam projection stack.

use super::common::{CliResult, check_output, err, read_npy_f32, write_atomic};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array3;
use ndarray_npy::WriteNpyExt;
use std::path::PathBuf;
use std::time::Instant;
use tomors::geometry::PatientGrid;
use tomors::io::dicom::{SeriesWriter, WriteModality};
use tomors::{
    Backend, ConeBeam, ConeDetector, ConeOrbit, ConeProjector, Fdk, FdkOptions, FilterWindow,
    ImageGrid, RampFilter,
};

#[derive(clap::Args)]
pub struct FdkArgs {
    /// Input projections `[views, rows, cols]`: a .npy file (any real dtype), a (multi-page)
    /// TIFF file, or a folder of TIFF files (one per view, in file-name order). Line integrals,
    /// or intensities with --i0.
    input: PathBuf,
    /// The projections are intensities: reconstruct −ln(I / I0) (I clamped to ≥ 1e-6·I0).
    #[arg(long)]
    i0: Option<f64>,
    /// Geometry from an RTK geometry file (flat panel; projections centred) instead of the
    /// orbit options below.
    #[arg(long)]
    rtk_geometry: Option<PathBuf>,
    /// Output volume: `.npy` (float32 μ in 1/mm, `[z, y, x]`) or `.nii` / `.nii.gz`; written
    /// atomically, never over the input.
    #[arg(short, long)]
    out: PathBuf,
    /// Also write a DICOM CT series (HU, from --mu-water) into this folder.
    #[arg(long)]
    dicom: Option<PathBuf>,
    /// μ of water (1/mm) for HU in the DICOM series.
    #[arg(long, default_value_t = 0.0193)]
    mu_water: f64,
    /// Source to rotation axis, mm (unless --rtk-geometry).
    #[arg(long)]
    source_to_center: Option<f64>,
    /// Source to detector, mm (unless --rtk-geometry).
    #[arg(long)]
    source_to_detector: Option<f64>,
    /// Detector column spacing at the detector, mm (arc length for a cylindrical detector).
    #[arg(long, default_value_t = 1.0)]
    col_spacing: f64,
    /// Detector row spacing at the detector, mm.
    #[arg(long, default_value_t = 1.0)]
    row_spacing: f64,
    /// Detector shift along u, mm (offset-detector scans).
    #[arg(long, default_value_t = 0.0)]
    col_offset: f64,
    /// Detector shift along v, mm.
    #[arg(long, default_value_t = 0.0)]
    row_offset: f64,
    /// Detector shape: flat or cylindrical.
    #[arg(long, default_value = "flat")]
    detector: ConeDetector,
    /// Angle of the first view, degrees.
    #[arg(long, default_value_t = 0.0)]
    start_deg: f64,
    /// Arc covered by the views (uniformly spaced, last view one step short of it), degrees;
    /// less than 360 is a short scan (Parker weights).
    #[arg(long, default_value_t = 360.0)]
    span_deg: f64,
    /// Volume voxels along x and y (default: detector columns).
    #[arg(long)]
    size: Option<usize>,
    /// Volume slices (default: detector rows).
    #[arg(long)]
    slices: Option<usize>,
    /// Voxel size, mm (default: the column spacing at the isocentre).
    #[arg(long)]
    voxel: Option<f64>,
    /// Filter window: ram-lak, shepp-logan, cosine, hamming or hann.
    #[arg(long, default_value = "ram-lak")]
    filter: FilterWindow,
    /// Cut-off as a fraction of Nyquist, (0, 1].
    #[arg(long, default_value_t = 1.0)]
    cutoff: f64,
    /// auto (GPU when present), gpu or cpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
    /// Largest device buffer in MiB: the volume streams through slabs that fit.
    #[arg(long, default_value_t = tomors::projector::DEFAULT_MAX_CHUNK_BYTES >> 20)]
    max_buffer_mib: u64,
    /// Projections up to this size in MiB stay in device memory (sent once, filtered and
    /// back-projected there; on the CPU backend, a filtered copy in host memory); larger ones
    /// stream through the host. 0 always streams.
    #[arg(long, default_value_t = FdkOptions::default().max_resident_bytes >> 20)]
    max_resident_mib: u64,
}

/// Projections from a .npy file, a TIFF file, or a folder of TIFF files (name order).
fn read_projections(input: &std::path::Path) -> CliResult<ndarray::ArrayD<f32>> {
    let tiff = |p: &std::path::Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("tif") || e.eq_ignore_ascii_case("tiff"))
    };
    if input.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(input)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| tiff(p))
            .collect();
        files.sort();
        return Ok(tomors::io::tiff::read_tiff_stack(&files)
            .map_err(err)?
            .into_dyn());
    }
    if tiff(input) {
        return Ok(tomors::io::tiff::read_tiff_stack(&[input.to_path_buf()])
            .map_err(err)?
            .into_dyn());
    }
    read_npy_f32(input)
}

pub fn run(a: &FdkArgs) -> CliResult<()> {
    let filter = RampFilter::new(a.filter, a.cutoff).map_err(err)?;
    check_output("--out", &a.out, &[&a.input])?;
    if a.dicom.is_some() && !(a.mu_water.is_finite() && a.mu_water > 0.0) {
        return Err(format!(
            "--mu-water is {}; expected μ of water > 0 (1/mm) for the DICOM series' HU",
            a.mu_water
        )
        .into());
    }
    let mut data = read_projections(&a.input)?;
    // Before --i0's logarithm, whose floor would turn NaN into a plausible value.
    if let Some(index) = data.iter().position(|v| !v.is_finite()) {
        return Err(err(tomors::Error::NonFinite {
            what: "projections",
            index,
        }));
    }
    if let Some(i0) = a.i0 {
        if !(i0.is_finite() && i0 > 0.0) {
            return Err(format!("--i0 is {i0}; expected a finite intensity > 0").into());
        }
        let floor = (1e-6 * i0) as f32;
        let clamped = data.iter().filter(|&&i| i < floor).count();
        if clamped > 0 {
            eprintln!(
                "warning: {clamped} intensities below 1e-6 × --i0 (zero or negative included) \
                 taken as 1e-6 × --i0 before the logarithm"
            );
        }
        data.mapv_inplace(|i| -(i.max(floor) / i0 as f32).ln());
    }
    let [views, rows, cols] = match *data.shape() {
        [v, r, c] => [v, r, c],
        ref s => {
            return Err(format!(
                "{}: shape {s:?}; expected [views, rows, cols]",
                a.input.display()
            )
            .into());
        }
    };
    let (dso, dsd, cone) = if let Some(path) = &a.rtk_geometry {
        let det = tomors::io::rtk::RtkDetector {
            n_rows: rows,
            n_cols: cols,
            row_spacing: a.row_spacing,
            col_spacing: a.col_spacing,
            origin: None,
        };
        let cone = tomors::io::rtk::read_rtk_geometry(path, &det).map_err(err)?;
        if cone.n_views() != views {
            return Err(format!(
                "{} describes {} views but the projections hold {views}",
                path.display(),
                cone.n_views()
            )
            .into());
        }
        let o = &cone.orbit_views()[0];
        // The default voxel size and FDK's weights need the detector beyond the axis.
        if !(o.source_to_center > 0.0 && o.source_to_detector > o.source_to_center) {
            return Err(format!(
                "{}: the first view's source is {:.1} mm from the axis and the detector {:.1} mm \
                 from the source along the principal ray; FDK needs the detector beyond the \
                 rotation axis (SourceToDetectorDistance > SourceToIsocenterDistance > 0)",
                path.display(),
                o.source_to_center,
                o.source_to_detector
            )
            .into());
        }
        (o.source_to_center, o.source_to_detector, cone)
    } else {
        let dso = a
            .source_to_center
            .ok_or("give --source-to-center and --source-to-detector (mm), or --rtk-geometry")?;
        let dsd = a
            .source_to_detector
            .ok_or("give --source-to-center and --source-to-detector (mm), or --rtk-geometry")?;
        let angles = (0..views)
            .map(|i| (a.start_deg + i as f64 * a.span_deg / views as f64).to_radians())
            .collect();
        let orbit = ConeOrbit {
            detector: a.detector,
            col_offset: a.col_offset,
            row_offset: a.row_offset,
            ..ConeOrbit::new(angles, rows, cols, a.row_spacing, a.col_spacing, dso, dsd)
        };
        (dso, dsd, ConeBeam::orbit(&orbit).map_err(err)?)
    };
    let voxel = a.voxel.unwrap_or(a.col_spacing * dso / dsd);
    let (n, nz) = (a.size.unwrap_or(cols), a.slices.unwrap_or(rows));
    let grid = ImageGrid::new_3d([nz, n, n], [voxel; 3]).map_err(err)?;
    if let Some(folder) = &a.dicom {
        SeriesWriter::check_target(folder, nz).map_err(err)?;
    }
    let projector = ConeProjector::new(cone, grid.clone(), a.backend).map_err(err)?;
    let options = FdkOptions {
        filter,
        max_buffer_bytes: a.max_buffer_mib << 20,
        max_resident_bytes: a.max_resident_mib << 20,
    };
    let plan = Fdk::with_options(&projector, options).map_err(err)?;
    eprintln!(
        "FDK of {} ({views} views × {rows} rows × {cols} cols) into {nz}×{n}×{n} voxels of {voxel:.3} mm on {}",
        a.input.display(),
        projector.backend()
    );
    eprintln!(
        "{} slabs; the plan holds {:.1} MiB",
        plan.slabs().len(),
        plan.device_bytes() as f64 / (1 << 20) as f64
    );
    let pb = ProgressBar::new(nz as u64);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} slices [{elapsed} < {eta}]")
            .expect("valid template"),
    );
    let mut volume = Array3::<f32>::zeros((nz, n, n));
    let t = Instant::now();
    plan.reconstruct_with_progress(data.view(), volume.view_mut().into_dyn(), &mut |done, _| {
        pb.set_position(done as u64)
    })
    .map_err(err)?;
    pb.finish_and_clear();
    eprintln!("reconstructed in {:.3} s", t.elapsed().as_secs_f64());
    let [oz, oy, ox] = grid.origin();
    let patient =
        PatientGrid::axis_aligned(grid.shape(), grid.spacing(), [ox, oy, oz]).map_err(err)?;
    let vol3 = volume.view();
    let name = a.out.to_string_lossy();
    if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        tomors::io::nifti::write_nifti(vol3, &patient, &a.out, "mu 1/mm").map_err(err)?;
    } else {
        write_atomic(&a.out, |w| volume.write_npy(w).map_err(err))?;
    }
    if let Some(folder) = &a.dicom {
        let hu = vol3.mapv(|mu| (1000.0 * (mu as f64 - a.mu_water) / a.mu_water) as f32);
        let writer = SeriesWriter {
            description: "tomors FDK".into(),
            ..SeriesWriter::new(WriteModality::Ct, "HU")
        };
        let written = writer.write(hu.view(), &patient, folder).map_err(err)?;
        eprintln!(
            "DICOM CT series: {} files in {}",
            written.files.len(),
            folder.display()
        );
    }
    Ok(())
}
