//! From a gamma camera's DICOM file to a reconstruction written back as DICOM and NIfTI:
//! reads the NM projections (geometry and collimator from the header), reconstructs one
//! energy window with OSEM (collimator response modelled, no attenuation or scatter
//! correction) on each backend asked for, compares them, and writes the last one.
//!
//! With a CT folder as fifth argument it also writes `fused_coronal.png` (the reconstruction,
//! resampled onto the CT, in inferno over the CT's coronal slice through the image centre) and
//! `mip_coronal.png` (the reconstruction's coronal maximum-intensity projection in "hot").
//!
//! `cargo run --release --example spect_dicom -- NM.dcm OUT_DIR [KEV] [cpu,gpu] [CT_DIR]`

use std::path::PathBuf;
use std::time::Instant;

use tomors::fusion::{
    Colormap, Overlay, Plane, Resampling, Window, fuse, plane_image, resample, write_png,
};
use tomors::io::dicom::{
    ReadLimits, Reference, SeriesSelect, SeriesWriter, WriteModality, read_ct_series,
    read_nm_projections,
};
use tomors::{Backend, Osem, SpectProjector};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: spect_dicom NM.dcm OUT_DIR [KEV] [cpu,gpu] [CT_DIR]".into());
    }
    let (nm_path, out) = (PathBuf::from(&args[1]), PathBuf::from(&args[2]));
    let kev: f64 = args.get(3).map_or(Ok(208.0), |k| k.parse())?;
    let backends: Vec<Backend> = args
        .get(4)
        .map_or("cpu", String::as_str)
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;

    let t = Instant::now();
    let nm = read_nm_projections(&nm_path, &ReadLimits::default())?;
    let w = nm
        .window_at(kev)
        .ok_or(format!("no energy window holds {kev} keV"))?;
    println!(
        "read {} in {:.2} s: window {} ({:.1}–{:.1} keV), {} views, collimator {}",
        nm_path.display(),
        t.elapsed().as_secs_f64(),
        w + 1,
        nm.windows[w].lower_kev,
        nm.windows[w].upper_kev,
        nm.angles.len(),
        nm.collimator.as_deref().unwrap_or("-")
    );
    let counts = nm.counts[w].view().into_dyn();
    let mut images = Vec::new();
    for backend in backends {
        let t = Instant::now();
        let spect = SpectProjector::new(nm.spect_geometry(None)?, nm.image_grid()?, None, backend)?;
        let image = Osem::new(4, 10).run(&spect, counts.view())?;
        println!(
            "OSEM 4 × 10 on {}: {:.3} s (plan included)",
            spect.backend(),
            t.elapsed().as_secs_f64()
        );
        images.push(image);
    }
    if let [a, b] = images.as_slice() {
        let num: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum();
        let den: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
        println!(
            "relative L2 difference between the two: {:.2e}",
            (num / den).sqrt()
        );
    }
    let image = images
        .pop()
        .ok_or("no backend given")?
        .into_dimensionality()?;
    let written = SeriesWriter::new(WriteModality::Nm, "CNTS")
        .with_reference(Reference::from_file(&nm_path)?)
        .write(image.view(), &nm.grid, &out.join("dicom"))?;
    tomors::io::nifti::write_nifti(image.view(), &nm.grid, &out.join("recon.nii.gz"), "counts")?;
    println!(
        "wrote {} DICOM slices (series {}) and recon.nii.gz to {}",
        written.files.len(),
        written.series_uid,
        out.display()
    );
    let max = image.iter().copied().fold(0.0_f32, f32::max);
    let g = &nm.grid;
    let mip = plane_image(image.view(), g.spacing, Plane::Coronal, [0; 3], true)?;
    let hot = Overlay {
        colormap: Colormap::Hot,
        range: (0.0, max),
        threshold: 0.0,
        alpha: 1.0,
    };
    write_png(
        fuse(mip.view(), Window::SOFT_TISSUE, Some((mip.view(), hot)))?.view(),
        &out.join("mip_coronal.png"),
    )?;
    if let Some(ct_dir) = args.get(5) {
        let ct = read_ct_series(
            ct_dir.as_ref(),
            &SeriesSelect::Largest,
            &ReadLimits::default(),
        )?;
        let v = &ct.volume;
        let on_ct = resample(
            image.view(),
            g,
            &v.grid,
            0.0,
            Resampling::Trilinear,
            tomors::Backend::Cpu,
        )?;
        let [nz, ny, nx] = v.grid.shape;
        let centre = [nz / 2, ny / 2, nx / 2];
        let anatomy = plane_image(v.data.view(), v.grid.spacing, Plane::Coronal, centre, false)?;
        let uptake = plane_image(on_ct.view(), v.grid.spacing, Plane::Coronal, centre, false)?;
        let overlay = Overlay {
            colormap: Colormap::Inferno,
            range: (0.0, 0.5 * max),
            threshold: 0.1,
            alpha: 0.6,
        };
        write_png(
            fuse(
                anatomy.view(),
                Window::SOFT_TISSUE,
                Some((uptake.view(), overlay)),
            )?
            .view(),
            &out.join("fused_coronal.png"),
        )?;
        println!("wrote mip_coronal.png and fused_coronal.png");
    }
    Ok(())
}
