// Cone-beam FDK back-projection: parameters and per-view voxel-to-detector maps.
// Keep in sync with src/backend/layout.rs.

// Parameters of cone_backproject: a slab of `nz` slices from slice `z0` of an nx × ny grid,
// views `first .. first + n_views` of the maps, against a band of `band_rows` detector rows
// starting at row `row0` (of `n_rows`) of a chunk of filtered projections `[view, band row,
// col]`.
struct ConeParams {
    nx: u32,
    ny: u32,
    nz: u32,
    z0: u32,
    n_views: u32,
    first: u32,
    n_cols: u32,
    n_rows: u32,
    row0: u32,
    band_rows: u32,
    kind: u32,          // CONE_FLAT or CONE_CYLINDRICAL
    _pad0: u32,
    col_scale: f32,     // cylindrical: columns per radian (R / du)
    col_center: f32,    // cylindrical: column of fan angle 0
    row_scale: f32,     // cylindrical: rows per unit of height / distance (R / dv)
    row_center: f32,    // cylindrical: row level with the source
}

// Affine maps of voxel index (x, y, z, 1), each `dot(m, (ix, iy, iz, 1))` written out as
// m.x·ix + (m.y·iy + (m.z·iz + m.w)). Flat: a = column × w, b = row × w, c = w, where w is the
// voxel's depth from the source over the source-to-axis distance (weight 1/w²). Cylindrical:
// a = t (mm along u), b = h (mm along v), c = l (mm along the central ray), from the source.
struct ConeMap {
    a: vec4<f32>,
    b: vec4<f32>,
    c: vec4<f32>,
}

const CONE_FLAT: u32 = 0u;
const CONE_CYLINDRICAL: u32 = 1u;
