//! `tomors dicom info PATH`: what a folder or file of DICOM holds.

use std::path::Path;

use tomors::io::dicom::{
    ReadLimits, SeriesInfo, SeriesSelect, read_ct_series, read_nm_projections, read_nm_volume,
    read_pet_series, scan,
};

use super::common::CliResult;

/// Prints every series under `path`: modality, UIDs, size; for CT and PET the volume's grid,
/// for NM projections the windows, views, angles, radius and collimator.
pub fn info(path: &Path) -> CliResult<()> {
    let limits = ReadLimits::default();
    let found = scan(path, &limits).map_err(|e| e.to_string())?;
    println!("{}: {} series", path.display(), found.series.len());
    for s in &found.series {
        println!();
        println!(
            "{} series {}  ({} file(s), {}×{} pixels, {} frame(s)){}",
            s.modality,
            s.series_uid,
            s.files.len(),
            s.rows,
            s.cols,
            s.frames,
            s.description
                .as_deref()
                .map(|d| format!("  \"{d}\""))
                .unwrap_or_default()
        );
        println!("  study {}", s.study_uid.as_deref().unwrap_or("-"));
        println!(
            "  frame of reference {}",
            s.frame_of_reference_uid.as_deref().unwrap_or("-")
        );
        if let Err(e) = details(s, &limits) {
            println!("  cannot be read as a whole: {e}");
        }
    }
    for (file, why) in &found.skipped {
        println!("skipped {}: {why}", file.display());
    }
    Ok(())
}

fn details(s: &SeriesInfo, limits: &ReadLimits) -> tomors::Result<()> {
    let uid = SeriesSelect::Uid(s.series_uid.clone());
    // The series' folder: reading it again by UID picks this series out of whatever else is there.
    let folder = s.files[0].parent().unwrap_or(Path::new("."));
    let volume = |v: &tomors::io::dicom::SliceVolume| {
        let g = &v.grid;
        let last = g.position([(g.shape[0] - 1) as f64, 0.0, 0.0]);
        println!(
            "  volume {:?} (slices, rows, cols), voxels {:.4} × {:.4} × {:.4} mm, units {}",
            g.shape,
            g.spacing[0],
            g.spacing[1],
            g.spacing[2],
            v.units.as_deref().unwrap_or("-")
        );
        println!(
            "  first voxel at ({:.2}, {:.2}, {:.2}) mm, last slice at ({:.2}, {:.2}, {:.2}) mm (LPS)",
            g.origin[0], g.origin[1], g.origin[2], last[0], last[1], last[2]
        );
    };
    match s.modality.as_str() {
        "CT" => {
            let ct = read_ct_series(folder, &uid, limits)?;
            volume(&ct.volume);
            if let Some(kvp) = ct.kvp {
                println!("  {kvp} kVp");
            }
        }
        "PT" => {
            let pet = read_pet_series(folder, &uid, limits)?;
            volume(&pet.volume);
            match pet.suv.suv_bw_scale() {
                Ok(f) => println!("  SUVbw = value × {f:.6e}"),
                Err(e) => println!("  no SUVbw: {e}"),
            }
        }
        "NM" if s.files.len() == 1 => match read_nm_projections(&s.files[0], limits) {
            Ok(nm) => {
                let [_, rows, cols] = <[usize; 3]>::try_from(nm.counts[0].shape()).expect("3D");
                println!(
                    "  projections: {} window(s) × {} views of {rows}×{cols} bins of {:.4} × {:.4} mm",
                    nm.windows.len(),
                    nm.angles.len(),
                    nm.pixel_spacing[0],
                    nm.pixel_spacing[1]
                );
                for (i, w) in nm.windows.iter().enumerate() {
                    let total: f64 = nm.counts[i].iter().map(|v| f64::from(*v)).sum();
                    println!(
                        "    window {}: {:>8.2}–{:<8.2} keV  {:<12} {total:>12.0} counts",
                        i + 1,
                        w.lower_kev,
                        w.upper_kev,
                        w.name.as_deref().unwrap_or("-")
                    );
                }
                println!(
                    "  start angle {:?}°, step {}° {}, radius {:.1}–{:.1} mm, {} s per view, collimator {}",
                    nm.start_angles_deg,
                    nm.angular_step_deg,
                    nm.rotation_direction,
                    nm.radii.iter().copied().fold(f64::INFINITY, f64::min),
                    nm.radii.iter().copied().fold(0.0, f64::max),
                    nm.frame_durations.first().copied().unwrap_or(0.0),
                    nm.collimator.as_deref().unwrap_or("-")
                );
                println!(
                    "  half-life {}, injection {}",
                    nm.half_life_s
                        .map_or("not given".into(), |h| format!("{:.4} h", h / 3600.0)),
                    nm.injection_to_start_s
                        .map_or("time not given".into(), |t| format!(
                            "{:.2} h before the acquisition",
                            t / 3600.0
                        )),
                );
                let c = nm.grid.centre();
                println!(
                    "  reconstruction grid {:?} of {:.4} mm, centred at ({:.2}, {:.2}, {:.2}) mm (LPS)",
                    nm.grid.shape, nm.grid.spacing[1], c[0], c[1], c[2]
                );
            }
            Err(_) => volume(&read_nm_volume(&s.files[0], &uid, limits)?),
        },
        "NM" => volume(&read_nm_volume(folder, &uid, limits)?),
        _ => {}
    }
    Ok(())
}
