//! One parity test for every stage: each stage of the generated table runs on the host engine
//! (its CPU twin) and on a wgpu engine with the same parameters and inputs, and the outputs
//! must agree. The inputs come from an exhaustive `match` over [`Stage`], so a new shader does
//! not compile until it has a case here.

use crate::backend::Stage;
use crate::backend::engine::{Buf, Engine};
use crate::backend::layout::{
    BsremParams, EmParams, NmiParams, Params, PetParams, PriorParams, ResampleParams, SpectParams,
    SssParams,
};
use crate::backend::sss::SSS_NODES;
use crate::geometry::pet::{PetScanner, SinogramLayout, TofBins};
use crate::geometry::{
    Collimator, DetectorColumns, DetectorShape, FanBeam, ImageGrid, SpectGeometry, lower,
    lower_spect,
};
use crate::operator::SplitMix64;

/// Largest difference allowed, relative to the largest output value: f32 rounding on both
/// sides, GPU compilers fusing multiply-adds, and the FBP filter evaluated by FFT on the CPU
/// but summed directly by the shader (about 1e-6 relative); 1e-4 leaves room without hiding a
/// wrong index or weight, which moves values by far more.
const PARITY_TOL: f32 = 1e-4;

/// One stage's dispatch: parameters, the buffers it reads, the size of the one it writes,
/// and how many invocations (a grid, or a count for element-wise stages).
struct Case {
    params: Vec<u32>,
    reads: Vec<Vec<u32>>,
    out_len: usize,
    /// The output's initial contents (stages that accumulate), zeros when `None`.
    out_init: Option<Vec<u32>>,
    grid: Grid,
    /// How the outputs are compared.
    output: Output,
}

/// What a stage writes.
#[derive(Clone, Copy, PartialEq)]
enum Output {
    /// f32, compared relative to the largest value.
    Float,
    /// f32 spanning many orders of magnitude, each compared relative to itself.
    FloatEach,
    /// Integers, compared exactly.
    Integer,
    /// 64-bit fixed-point sums (low, high words), compared relative to the largest value: the
    /// weights differ by float rounding between backends, so the integers do too.
    Fixed64,
}

enum Grid {
    Invocations([u32; 3]),
    Linear(usize),
}

fn words<T: bytemuck::Pod>(v: &[T]) -> Vec<u32> {
    bytemuck::cast_slice(v).to_vec()
}

fn random(rng: &mut SplitMix64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| lo + (hi - lo) * rng.next_f32()).collect()
}

fn case(stage: Stage) -> Case {
    let mut rng = SplitMix64(stage as u64 + 1);
    // A fan-beam stack: every Joseph and FBP stage sees views, lines and a kind tag.
    let grid = ImageGrid::new_3d([3, 21, 26], [1.5, 1.1, 0.9]).unwrap();
    let fan = FanBeam::with_rows(
        (0..29).map(|i| i as f64 * 0.21).collect(),
        DetectorColumns {
            n_cols: 37,
            spacing: 1.2,
            offset: 0.4,
        },
        3,
        1.5,
        120.0,
        210.0,
        DetectorShape::Arc,
    )
    .unwrap();
    let joseph = lower(&fan.into(), &grid);
    let p: Params = joseph.params;
    let (image_len, data_len) = (
        (p.nx * p.ny * p.nz) as usize,
        (p.n_views * p.nz * p.n_cols) as usize,
    );
    // A SPECT acquisition with attenuation and a collimator response.
    let sgrid = ImageGrid::new_3d([4, 18, 18], [4.0, 4.0, 4.0]).unwrap();
    let sgeom = SpectGeometry::new((0..10).map(|i| i as f64 * 0.63).collect(), 110.0, 18, 4.0)
        .unwrap()
        .with_collimator(Collimator::preset("lehr").unwrap());
    let spect = lower_spect(&sgeom, &sgrid, true);
    let sp = SpectParams {
        batch_first: 0,
        batch_count: spect.params.n_views,
        proj_first: 0,
        att_first: 0,
        accumulate: 0,
        ..spect.params
    };
    let frame_len = (sp.n_views * sp.nz * sp.n_depth * sp.n_cols) as usize;
    let (s_image, s_data) = (
        (sp.nx * sp.ny * sp.nz) as usize,
        (sp.n_views * sp.nz * sp.n_cols) as usize,
    );
    let frames = [sp.n_cols, sp.n_depth, sp.nz * sp.batch_count];
    let f32s = |v: Vec<f32>| words(&v);
    // A small TOF scanner, span 3, two views mashed.
    let scanner = PetScanner::new("parity", 6, 48, 50.0, 2.0, 4.0)
        .unwrap()
        .with_tof(TofBins::new(5, 15.0, 25.0).unwrap());
    let layout = SinogramLayout::new(scanner, 30, 3, 5, 2).unwrap();
    let pgrid = ImageGrid::new_3d([6, 19, 21], [4.0, 3.5, 3.0]).unwrap();
    let views: Vec<usize> = (0..layout.views() as usize).collect();
    let pet = crate::projector::pet3d::sinogram_tables(&layout, &pgrid, &views);
    let (pet_image, pet_data) = (pgrid.len(), layout.len());
    let pp = PetParams {
        len: pet_data as u32,
        n_views: layout.views(),
        bound_exp: 20,
        ..pet.base
    };
    let pet_reads = || vec![words(&pet.transaxial), words(&pet.axial), vec![0u32; 4]];
    // The projection stages on a slab: slices 2..5 of 6, the forward adding onto `out`.
    let slab = PetParams {
        slab: [2, 5, 0, 0],
        ..pp
    };
    let slab_image = pet_image / 6 * 3;
    // Single scatter: a coarse 7 × 6 × 5 image of 10 mm voxels, 23 scatter points inside it,
    // 3 rings of 12 detectors on a radius of 80 mm.
    let sss = SssParams {
        nx: 7,
        ny: 6,
        nz: 5,
        n_points: 23,
        n_detectors: 36,
        n_rings: 3,
        n_crystals: 12,
        n_table: 17,
        n_views: 0,
        n_planes: 0,
        n_tang: 0,
        len: 0,
        n_tof: 1,
        n_fine: 0,
        fine_first: 0.0,
        fine_step: 0.0,
        origin: [-30.0, -25.0, -20.0, 0.0],
        inv_spacing: [0.1, 0.1, 0.1, 0.0],
        step: [4.0, 80.0, 0.0, 0.0],
        min_cos: [0.05, 0.0, 0.0, 0.0],
    };
    let sss_voxels = (sss.nx * sss.ny * sss.nz) as usize;
    let sss_points: Vec<[f32; 4]> = (0..sss.n_points)
        .map(|_| {
            [
                -30.0 + 60.0 * rng.next_f32(),
                -25.0 + 50.0 * rng.next_f32(),
                -20.0 + 40.0 * rng.next_f32(),
                0.01 * 1000.0 * rng.next_f32(),
            ]
        })
        .collect();
    let sss_detectors: Vec<[f32; 4]> = (0..sss.n_detectors)
        .map(|d| {
            let angle = std::f32::consts::TAU * (d % 12) as f32 / 12.0;
            [
                80.0 * angle.sin(),
                -80.0 * angle.cos(),
                20.0 * (d / 12) as f32 - 20.0,
                0.0,
            ]
        })
        .collect();
    match stage {
        Stage::PetForward => Case {
            params: words(std::slice::from_ref(&slab)),
            reads: [
                pet_reads(),
                vec![f32s(random(&mut rng, slab_image, -1.0, 1.0))],
            ]
            .concat(),
            out_len: pet_data,
            out_init: Some(f32s(random(&mut rng, pet_data, -1.0, 1.0))),
            grid: Grid::Linear(pet_data),
            output: Output::Float,
        },
        Stage::PetAdjointMax => Case {
            params: words(std::slice::from_ref(&slab)),
            reads: [
                pet_reads(),
                vec![f32s(random(&mut rng, pet_data, -1.0, 1.0))],
            ]
            .concat(),
            out_len: slab_image,
            out_init: None,
            grid: Grid::Linear(pet_data),
            // Bits of non-negative floats: compared as the floats they are.
            output: Output::Float,
        },
        Stage::PetAdjoint => Case {
            params: words(std::slice::from_ref(&slab)),
            reads: [
                pet_reads(),
                vec![
                    f32s(random(&mut rng, pet_data, -1.0, 1.0)),
                    f32s(random(&mut rng, slab_image, 0.5, 30.0)),
                ],
            ]
            .concat(),
            out_len: 2 * slab_image,
            out_init: None,
            grid: Grid::Linear(pet_data),
            output: Output::Fixed64,
        },
        Stage::FixedToFloat => {
            let p = PetParams {
                len: pet_image as u32,
                ..pp
            };
            let acc: Vec<u32> = (0..pet_image)
                .flat_map(|_| {
                    let v = (rng.next_signed() as f64 * 2f64.powi(45)) as i64 as u64;
                    [v as u32, (v >> 32) as u32]
                })
                .collect();
            // Largest terms from 1e-30 to 1e30: each voxel at its own scale.
            let maxes = (0..pet_image)
                .map(|_| 10f32.powf(60.0 * rng.next_f32() - 30.0))
                .collect();
            Case {
                params: words(std::slice::from_ref(&p)),
                reads: vec![f32s(maxes), acc],
                out_len: pet_image,
                out_init: None,
                grid: Grid::Linear(pet_image),
                output: Output::FloatEach,
            }
        }
        Stage::ForwardProject => Case {
            params: words(std::slice::from_ref(&p)),
            reads: vec![
                words(&joseph.lines),
                f32s(random(&mut rng, image_len, -1.0, 1.0)),
            ],
            out_len: data_len,
            out_init: None,
            grid: Grid::Invocations([p.n_cols, p.n_views, p.nz]),
            output: Output::Float,
        },
        Stage::AdjointProject => Case {
            params: words(std::slice::from_ref(&p)),
            reads: vec![
                words(&joseph.views),
                words(&joseph.lines),
                f32s(random(&mut rng, data_len, -1.0, 1.0)),
            ],
            out_len: image_len,
            out_init: None,
            grid: Grid::Invocations([p.nx, p.ny, p.nz]),
            output: Output::Float,
        },
        Stage::FbpFilter => {
            let kernel = crate::filter::FilterKernel::new(
                p.n_cols as usize,
                0.01,
                crate::filter::RampFilter::default(),
                true,
            );
            Case {
                params: words(std::slice::from_ref(&p)),
                reads: vec![
                    f32s(kernel.lags(p.n_cols as usize)),
                    f32s(random(&mut rng, (p.n_views * p.n_cols) as usize, 0.5, 1.0)),
                    f32s(random(&mut rng, data_len, -1.0, 1.0)),
                ],
                out_len: data_len,
                out_init: None,
                grid: Grid::Invocations([p.n_cols, p.n_views, p.nz]),
                output: Output::Float,
            }
        }
        Stage::ConeBackproject => {
            // A flat-detector orbit over a slab (slices 2..7 of 9) and a band of rows 3..13.
            let g = ImageGrid::new_3d([9, 15, 13], [1.2, 1.0, 1.1]).unwrap();
            let o = crate::geometry::ConeOrbit {
                col_offset: 2.5,
                row_offset: -1.0,
                ..crate::geometry::ConeOrbit::new(
                    (0..7).map(|i| i as f64 * 0.9).collect(),
                    16,
                    19,
                    1.3,
                    1.4,
                    60.0,
                    110.0,
                )
            };
            let cone = crate::geometry::ConeBeam::orbit(&o).unwrap();
            let (maps, base) = crate::recon::fdk_maps(&cone, &g);
            let cp = crate::backend::layout::ConeParams {
                nz: 5,
                z0: 2,
                n_views: 5,
                first: 1,
                row0: 3,
                band_rows: 10,
                ..base
            };
            let band = (cp.n_views * cp.band_rows * cp.n_cols) as usize;
            let slab = (cp.nx * cp.ny * cp.nz) as usize;
            Case {
                params: words(std::slice::from_ref(&cp)),
                reads: vec![words(&maps), f32s(random(&mut rng, band, -1.0, 1.0))],
                out_len: slab,
                out_init: Some(f32s(random(&mut rng, slab, -0.5, 0.5))),
                grid: Grid::Invocations([cp.nx, cp.ny, cp.nz]),
                output: Output::Float,
            }
        }
        Stage::BackprojectFbp => Case {
            params: words(std::slice::from_ref(&p)),
            reads: vec![
                words(&joseph.views),
                f32s(random(&mut rng, data_len, -1.0, 1.0)),
            ],
            out_len: image_len,
            out_init: None,
            grid: Grid::Invocations([p.nx, p.ny, p.nz]),
            output: Output::Float,
        },
        Stage::EmRatio => {
            let n = 5000;
            let em = EmParams::new(n - 300, 300, true, true, 0.0);
            Case {
                params: words(std::slice::from_ref(&em)),
                reads: vec![
                    f32s(random(&mut rng, n, 0.0, 20.0)),
                    f32s(random(&mut rng, n, 0.0, 0.5)),
                    f32s(random(&mut rng, n, 0.2, 1.0)),
                ],
                out_len: n - 300,
                out_init: Some(f32s(random(&mut rng, n - 300, -0.1, 10.0))),
                grid: Grid::Linear(n - 300),
                output: Output::Float,
            }
        }
        Stage::EmUpdate => {
            let n = 3000;
            let em = EmParams::new(n, n, false, false, 0.3);
            Case {
                params: words(std::slice::from_ref(&em)),
                reads: vec![
                    f32s(random(&mut rng, 2 * n, 0.0, 4.0)),
                    f32s(random(&mut rng, n, 0.0, 4.0)),
                    f32s(random(&mut rng, n, -1.0, 1.0)),
                ],
                out_len: n,
                out_init: Some(f32s(random(&mut rng, n, 0.0, 2.0))),
                grid: Grid::Linear(n),
                output: Output::Float,
            }
        }
        Stage::BsremUpdate => {
            let n = 3000;
            let bp = BsremParams {
                len: n as u32,
                subset: 1,
                n_subsets: 3,
                _pad0: 0,
                alpha: 0.7,
                beta: 0.3,
                floor: 1e-4,
                _pad1: 0.0,
            };
            // Some voxels no subset sees, some steps below the floor.
            let mut sensitivity = random(&mut rng, 3 * n, 0.0, 4.0);
            for s in 0..3 {
                sensitivity[s * n..s * n + 100].fill(0.0);
            }
            Case {
                params: words(std::slice::from_ref(&bp)),
                reads: vec![
                    f32s(sensitivity),
                    f32s(random(&mut rng, n, 0.0, 4.0)),
                    f32s(random(&mut rng, n, -1.0, 1.0)),
                ],
                out_len: n,
                out_init: Some(f32s(random(&mut rng, n, 0.0, 2.0))),
                grid: Grid::Linear(n),
                output: Output::Float,
            }
        }
        Stage::PriorGradient => {
            let mut weights = [[0.0f32; 4]; 7];
            for (i, w) in weights.iter_mut().flatten().take(27).enumerate() {
                *w = if i == 13 {
                    0.0
                } else {
                    1.0 / (1 + i % 3) as f32
                };
            }
            let pp = PriorParams {
                nx: 13,
                ny: 11,
                nz: 5,
                kind: 1,
                gamma: 2.0,
                _pad0: 0.0,
                _pad1: 0.0,
                _pad2: 0.0,
                weights,
            };
            Case {
                params: words(std::slice::from_ref(&pp)),
                reads: vec![f32s(random(&mut rng, 13 * 11 * 5, 0.0, 3.0))],
                out_len: 13 * 11 * 5,
                out_init: None,
                grid: Grid::Invocations([13, 11, 5]),
                output: Output::Float,
            }
        }
        Stage::Resample => {
            let source = [9u32, 12, 14];
            let rp = ResampleParams {
                b: [-0.7, 1.3, -1.1, 0.0],
                col_z: [0.8, 0.1, 0.0, 0.0],
                col_y: [0.0, 0.7, 0.2, 0.0],
                col_x: [0.05, -0.2, 0.9, 0.0],
                slab: [8, 13, 12, 0],
                source: [source[0], source[1], source[2], 0],
                block: [source[0], source[1], source[2], 0],
                block_origin: [0; 4],
                samples: [2, 1, 3, 0],
                outside: -7.0,
                len: 8 * 13 * 12,
                _pad0: 0,
                _pad1: 0,
            };
            let n = (source[0] * source[1] * source[2]) as usize;
            Case {
                params: words(std::slice::from_ref(&rp)),
                reads: vec![f32s(random(&mut rng, n, 0.0, 100.0))],
                out_len: 8 * 13 * 12,
                out_init: None,
                grid: Grid::Linear(8 * 13 * 12),
                output: Output::Float,
            }
        }
        Stage::NmiHistogram => {
            let (fixed, moving, bins) = ([10u32, 12, 11], [9u32, 13, 12], 16u32);
            let pack = |n: u32, rng: &mut SplitMix64| -> Vec<u32> {
                let b: Vec<u8> = (0..n)
                    .map(|_| (rng.next_u64() % bins as u64) as u8)
                    .collect();
                b.chunks(4)
                    .map(|c| {
                        c.iter()
                            .enumerate()
                            .fold(0u32, |w, (i, &x)| w | (x as u32) << (8 * i))
                    })
                    .collect()
            };
            // Positions in 1/65536 voxel; many samples land exactly on voxel centres and on
            // the moving volume's first and last centres, where the two engines must agree.
            let unit = |v: [f64; 3]| [v[0], v[1], v[2], 0.0].map(|x| (x * 65536.0) as i32);
            let np = NmiParams {
                b: unit([0.25, -0.5, 0.0]),
                col_z: unit([0.875, 0.0625, 0.0]),
                col_y: unit([0.0, 1.0, 0.125]),
                col_x: unit([0.0, -0.125, 1.1]),
                fixed: [fixed[0], fixed[1], fixed[2], 1],
                moving: [moving[0], moving[1], moving[2], bins],
                len: fixed.iter().product(),
                scale: 1024.0,
                frac: 16,
                _pad: 0,
            };
            Case {
                params: words(std::slice::from_ref(&np)),
                reads: vec![
                    pack(fixed.iter().product(), &mut rng),
                    pack(moving.iter().product(), &mut rng),
                ],
                out_len: (bins * bins) as usize,
                out_init: None,
                grid: Grid::Linear(fixed.iter().product::<u32>() as usize),
                output: Output::Integer,
            }
        }
        Stage::SpectAttenuation => Case {
            params: words(std::slice::from_ref(&sp)),
            reads: vec![
                words(&spect.views),
                f32s(random(&mut rng, s_image, 0.0, 0.02)),
            ],
            out_len: frame_len,
            out_init: None,
            grid: Grid::Invocations([sp.n_cols, sp.nz, sp.batch_count]),
            output: Output::Float,
        },
        Stage::SpectRotate => Case {
            params: words(std::slice::from_ref(&sp)),
            reads: vec![
                words(&spect.views),
                f32s(random(&mut rng, s_image, 0.0, 5.0)),
                f32s(random(&mut rng, frame_len, 0.1, 1.0)),
            ],
            out_len: frame_len,
            out_init: None,
            grid: Grid::Invocations(frames),
            output: Output::Float,
        },
        Stage::SpectBlurCols => Case {
            params: words(std::slice::from_ref(&sp)),
            reads: vec![
                f32s(spect.kernel_cols.clone()),
                words(&spect.half_widths),
                f32s(random(&mut rng, frame_len, 0.0, 5.0)),
            ],
            out_len: frame_len,
            out_init: None,
            grid: Grid::Invocations(frames),
            output: Output::Float,
        },
        Stage::SpectBlurRowsSum => Case {
            params: words(std::slice::from_ref(&sp)),
            reads: vec![
                f32s(spect.kernel_rows.clone()),
                words(&spect.half_widths),
                f32s(random(&mut rng, frame_len, 0.0, 5.0)),
            ],
            out_len: s_data,
            out_init: None,
            grid: Grid::Invocations([sp.n_cols, sp.nz, sp.batch_count]),
            output: Output::Float,
        },
        Stage::SpectSpreadRows => Case {
            params: words(std::slice::from_ref(&sp)),
            reads: vec![
                f32s(spect.kernel_rows.clone()),
                words(&spect.half_widths),
                f32s(random(&mut rng, s_data, 0.0, 5.0)),
            ],
            out_len: frame_len,
            out_init: None,
            grid: Grid::Invocations(frames),
            output: Output::Float,
        },
        Stage::SssIntegrals => {
            let q = SssParams {
                len: sss.n_detectors * sss.n_points,
                ..sss
            };
            Case {
                params: words(std::slice::from_ref(&q)),
                reads: vec![
                    f32s(random(&mut rng, sss_voxels, 0.0, 5.0)),
                    f32s(random(&mut rng, sss_voxels, 0.0, 0.01)),
                    words(&sss_points),
                    words(&sss_detectors),
                ],
                out_len: 2 * q.len as usize,
                out_init: None,
                grid: Grid::Linear(q.len as usize),
                output: Output::Float,
            }
        }
        Stage::SssPairs | Stage::SssPairsTof => {
            // With TOF: 5 bins on a fine grid of 40 points 6 mm apart from −117 mm.
            let tof = stage == Stage::SssPairsTof;
            let q = SssParams {
                len: sss.n_detectors * sss.n_detectors,
                n_tof: if tof { 5 } else { 1 },
                n_fine: if tof { 40 } else { 0 },
                fine_first: if tof { -117.0 } else { 0.0 },
                fine_step: if tof { 6.0 } else { 0.0 },
                ..sss
            };
            let legs = (sss.n_detectors * sss.n_points) as usize;
            let table: Vec<[f32; 2]> = (0..sss.n_table)
                .map(|j| [0.05 + 0.1 * j as f32, 1.0 + 0.02 * j as f32])
                .collect();
            let integrals: Vec<[f32; 2]> = (0..legs)
                .map(|_| [5.0 * rng.next_f32(), 2.0 * rng.next_f32()])
                .collect();
            let mut reads = vec![words(&sss_points), words(&sss_detectors), words(&integrals)];
            if tof {
                // Nodes at distances 0..160 mm (some of their positions off the grid).
                let nodes: Vec<[f32; 2]> = (0..legs * SSS_NODES)
                    .map(|_| [2.0 * rng.next_f32(), 160.0 * rng.next_f32()])
                    .collect();
                reads.push(words(&nodes));
            }
            reads.push(words(&table));
            if tof {
                reads.push(f32s(random(&mut rng, 5 * 40, 0.0, 1.0)));
            }
            let out_len = (q.len * q.n_tof) as usize;
            Case {
                params: words(std::slice::from_ref(&q)),
                reads,
                out_len,
                out_init: Some(f32s(random(&mut rng, out_len, 0.0, 1e-3))),
                grid: Grid::Linear(q.len as usize),
                output: Output::Float,
            }
        }
        Stage::SssNodes => {
            let q = SssParams {
                len: sss.n_detectors * sss.n_points,
                ..sss
            };
            // An activity with zeros, so that legs start and end inside the image.
            let activity: Vec<f32> = random(&mut rng, sss_voxels, -3.0, 5.0)
                .into_iter()
                .map(|v| v.max(0.0))
                .collect();
            Case {
                params: words(std::slice::from_ref(&q)),
                reads: vec![f32s(activity), words(&sss_points), words(&sss_detectors)],
                out_len: 2 * SSS_NODES * q.len as usize,
                out_init: None,
                grid: Grid::Linear(q.len as usize),
                output: Output::Float,
            }
        }
        Stage::SssInterpolate => {
            let (views, planes, tof, tang) = (5u32, 7u32, 3u32, 9u32);
            let q = SssParams {
                n_views: views,
                n_planes: planes,
                n_tang: tang,
                n_tof: tof,
                len: views * planes * tang,
                ..sss
            };
            let (nr, nc) = (sss.n_rings as f32, sss.n_crystals as f32);
            let lors: Vec<[f32; 4]> = (0..views * tang)
                .map(|_| {
                    let chord = 40.0 + 100.0 * rng.next_f32();
                    [nc * rng.next_f32(), nc * rng.next_f32(), chord * chord, 0.0]
                })
                .collect();
            let table: Vec<[f32; 4]> = (0..planes)
                .map(|_| {
                    let w = (nr - 1.0) * rng.next_f32();
                    let dz = 30.0 * rng.next_f32();
                    [
                        w,
                        (nr - 1.0) * rng.next_f32(),
                        1.0 + (w * 3.0).floor(),
                        dz * dz,
                    ]
                })
                .collect();
            let nd = sss.n_detectors as usize;
            Case {
                params: words(std::slice::from_ref(&q)),
                reads: vec![
                    words(&lors),
                    words(&table),
                    f32s(random(&mut rng, nd * nd * tof as usize, 0.0, 3.0)),
                ],
                out_len: (q.len * tof) as usize,
                out_init: None,
                grid: Grid::Linear(q.len as usize),
                output: Output::Float,
            }
        }
        Stage::SpectRotateAdjoint => {
            let acc = SpectParams {
                accumulate: 1,
                ..sp
            };
            Case {
                params: words(std::slice::from_ref(&acc)),
                reads: vec![
                    words(&spect.views),
                    f32s(random(&mut rng, frame_len, 0.1, 1.0)),
                    f32s(random(&mut rng, frame_len, -1.0, 1.0)),
                ],
                out_len: s_image,
                out_init: Some(f32s(random(&mut rng, s_image, 0.0, 1.0))),
                grid: Grid::Invocations([sp.nx, sp.ny, sp.nz]),
                output: Output::Float,
            }
        }
    }
}

/// Runs `case` on `engine` and returns the output words.
fn run(engine: &mut Engine, stage: Stage, case: &Case) -> Vec<u32> {
    let mut buffers: Vec<Buf> = case
        .reads
        .iter()
        .map(|r| engine.upload("input", r).unwrap())
        .collect();
    let out = match &case.out_init {
        Some(init) => engine.upload("output", init).unwrap(),
        None => engine.zeros("output", case.out_len).unwrap(),
    };
    buffers.push(out);
    let bytes: &[u8] = bytemuck::cast_slice(&case.params);
    match case.grid {
        Grid::Invocations(grid) => engine.dispatch_bytes(stage, bytes, &buffers, grid),
        Grid::Linear(len) => engine.dispatch_linear_bytes(stage, bytes, &buffers, len),
    }
    .unwrap();
    let mut words = vec![0u32; case.out_len];
    engine.read(out, 0, &mut words).unwrap();
    words
}

#[test]
#[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
fn every_stage_gives_the_same_numbers_on_both_engines() {
    let ctx = crate::backend::test_support::gpu_context();
    let mut failures = Vec::new();
    for stage in Stage::ALL {
        let case = case(stage);
        let cpu = run(&mut Engine::new(None), stage, &case);
        let gpu = run(&mut Engine::new(Some(ctx.clone())), stage, &case);
        let relative = |c: Vec<f64>, g: Vec<f64>| {
            let scale = c.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
            let diff = c
                .iter()
                .zip(&g)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f64, f64::max);
            ((diff / scale) as f32, scale as f32)
        };
        let fixed = |w: &[u32]| -> Vec<f64> {
            w.chunks_exact(2)
                .map(|p| ((p[1] as u64) << 32 | p[0] as u64) as i64 as f64)
                .collect()
        };
        let floats = |w: &[u32]| -> Vec<f64> {
            bytemuck::cast_slice::<u32, f32>(w)
                .iter()
                .map(|&v| v as f64)
                .collect()
        };
        let (worst, scale) = match case.output {
            Output::Integer => {
                let diff = cpu
                    .iter()
                    .zip(&gpu)
                    .map(|(a, b)| a.abs_diff(*b))
                    .max()
                    .unwrap_or(0);
                (diff as f32, 1.0)
            }
            Output::Fixed64 => relative(fixed(&cpu), fixed(&gpu)),
            Output::Float => relative(floats(&cpu), floats(&gpu)),
            Output::FloatEach => {
                let each = floats(&cpu)
                    .iter()
                    .zip(floats(&gpu))
                    .map(|(a, b)| ((a - b).abs() / a.abs().max(1e-300)) as f32)
                    .fold(0.0f32, f32::max);
                (each, 1.0)
            }
        };
        println!("{stage}: largest difference {worst:.2e} (relative to {scale:.3e})");
        let nonzero = cpu.iter().any(|&w| w != 0);
        let tolerance = if case.output == Output::Integer {
            0.0
        } else {
            PARITY_TOL
        };
        if !nonzero || worst > tolerance {
            failures.push(format!("{stage}: {worst:.2e}, output non-zero: {nonzero}"));
        }
    }
    assert!(failures.is_empty(), "stages that differ: {failures:?}");
}
