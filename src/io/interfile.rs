//! Interfile as STIR, SIRF and the Siemens tools write it: a text header of `key := value`
//! lines beside a raw data file. Images (`.hv` + `.v`) and 3D PET projection data (`.hs` +
//! `.s`) are read and written; the header parser also reads PETLINK list-mode and Siemens
//! normalisation headers ([`InterfileHeader`]).
//!
//! ## Images
//! `matrix size [1..3]` are x, y, z; `scaling factor (mm/pixel) [k]` the voxel size. The grid
//! is centred on the scanner's axis; `first pixel offset (mm) [k]`, when given, places voxel 0
//! instead. Numbers: `float` (4 bytes), `signed integer` or `unsigned integer` (1, 2 or 4
//! bytes), either byte order.
//!
//! ## Projection data
//! STIR's layout: `[segment][view][axial coordinate][tangential]` (or `[segment][axial
//! coordinate][view][tangential]` when the axis labels say so), segments in increasing number,
//! non-arc-corrected, with the scanner described in the header. The data are returned in
//! tomors' order ([`SinogramLayout`], `[view, plane, tangential]`).

use crate::error::{Error, Result};
use crate::geometry::ImageGrid;
use crate::geometry::pet::{EnergyWindow, PetScanner, SinogramLayout};
use ndarray::{Array3, ArrayD, ArrayView3, ArrayViewD, IxDyn};
use std::path::{Path, PathBuf};

/// The `key := value` lines of an Interfile header. Keys are compared in a normal form:
/// lower case, without `!` or `%`, single spaces, indices written `name [k]`.
#[derive(Debug, Clone)]
pub struct InterfileHeader {
    path: PathBuf,
    entries: Vec<(String, String)>,
}

fn normal_key(key: &str) -> String {
    let k = key.trim().trim_start_matches(['!', '%']).to_lowercase();
    let k = k.replace('[', " [");
    k.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("[ ", "[")
        .replace(" ]", "]")
}

impl InterfileHeader {
    /// Reads and parses the header at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable; [`Error::Format`] when it does not start with
    /// `INTERFILE :=`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        Self::parse(path, &text)
    }

    /// Parses header text (`path` names it in errors and anchors relative data files).
    ///
    /// # Errors
    /// [`Error::Format`] when it does not start with `INTERFILE :=`.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for line in text.lines() {
            let line = line.split(';').next().unwrap_or("");
            if let Some((k, v)) = line.split_once(":=") {
                entries.push((normal_key(k), v.trim().to_string()));
            }
        }
        if entries.first().map(|(k, _)| k.as_str()) != Some("interfile") {
            return Err(Error::Format {
                path: path.to_path_buf(),
                reason: "not an Interfile header: expected a first line `!INTERFILE :=`".into(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The header's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every `(key, value)` in the header's order, keys in normal form.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of `key` (normal form, see the type's docs), if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        let key = normal_key(key);
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    fn format_error(&self, reason: String) -> Error {
        Error::Format {
            path: self.path.clone(),
            reason,
        }
    }

    /// The value of `key`, required.
    ///
    /// # Errors
    /// [`Error::Format`] naming the missing key.
    pub fn require(&self, key: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| self.format_error(format!("the header has no `{key}`")))
    }

    /// The number at `key`, required.
    ///
    /// # Errors
    /// [`Error::Format`] when missing or not a number.
    pub fn number(&self, key: &str) -> Result<f64> {
        let v = self.require(key)?;
        v.parse::<f64>()
            .map_err(|_| self.format_error(format!("`{key} := {v}`: expected a number")))
    }

    /// The number at `key`, or `default` when absent.
    ///
    /// # Errors
    /// [`Error::Format`] when present but not a number.
    pub fn number_or(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            Some(_) => self.number(key),
            None => Ok(default),
        }
    }

    /// The whole number at `key`, required.
    ///
    /// # Errors
    /// [`Error::Format`] when missing or not a non-negative whole number.
    pub fn count(&self, key: &str) -> Result<usize> {
        let v = self.number(key)?;
        if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f64 {
            return Err(self.format_error(format!(
                "`{key}` is {}: expected a whole number from 0 to {}",
                shown(v),
                u32::MAX
            )));
        }
        Ok(v as usize)
    }

    /// The byte offset at `key`: a whole number from 0 to 2^53 (exact in the header's
    /// decimal), required.
    ///
    /// # Errors
    /// [`Error::Format`] when missing, negative, fractional, not finite or beyond 2^53.
    pub fn byte_offset(&self, key: &str) -> Result<u64> {
        let v = self.number(key)?;
        if !(0.0..=9_007_199_254_740_992.0).contains(&v) || v.fract() != 0.0 {
            return Err(self.format_error(format!(
                "`{key}` is {}: expected a whole number of bytes from 0 to 2^53",
                shown(v)
            )));
        }
        Ok(v as u64)
    }

    /// The list `{a, b, …}` (or a single number) at `key`, required.
    ///
    /// # Errors
    /// [`Error::Format`] when missing or holding something other than numbers.
    pub fn list(&self, key: &str) -> Result<Vec<f64>> {
        let v = self.require(key)?;
        v.trim_matches(['{', '}', ' '])
            .split(',')
            .map(|s| {
                s.trim().parse::<f64>().map_err(|_| {
                    self.format_error(format!("`{key} := {v}`: expected a list of numbers"))
                })
            })
            .collect()
    }

    /// The data file the header names (`name of data file`), relative to the header's folder.
    ///
    /// # Errors
    /// [`Error::Format`] when the key is missing.
    pub fn data_file(&self) -> Result<PathBuf> {
        let name = self.require("name of data file")?;
        let p = Path::new(name);
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).join(p)
        })
    }

    /// Whether the data are big-endian (`imagedata byte order`, default little).
    fn big_endian(&self) -> bool {
        self.get("imagedata byte order")
            .or_else(|| self.get("image data byte order"))
            .is_some_and(|v| v.eq_ignore_ascii_case("bigendian"))
    }

    /// Reads `n` samples of the header's number format from its data file, as f32.
    fn read_samples(&self, n: usize) -> Result<Vec<f32>> {
        let format = self.get("number format").unwrap_or("float").to_lowercase();
        let bytes = match self.get("number of bytes per pixel") {
            Some(_) => self.count("number of bytes per pixel")?,
            None => 4,
        };
        let offset = match self.get("data offset in bytes") {
            Some(_) => self.byte_offset("data offset in bytes")?,
            None if self.get("data offset in bytes [1]").is_some() => {
                self.byte_offset("data offset in bytes [1]")?
            }
            None => 0,
        };
        let data_bytes = crate::memory::bytes_for("the header's data", &[n], bytes)?;
        let file = self.data_file()?;
        let io = |source| Error::Io {
            path: file.clone(),
            source,
        };
        let mut reader = std::fs::File::open(&file).map_err(io)?;
        let size = reader.metadata().map_err(io)?.len();
        let truncated = || Error::Format {
            path: file.clone(),
            reason: format!(
                "truncated: {size} bytes, but the header describes {n} samples of {bytes} \
                 bytes from byte {offset}"
            ),
        };
        if offset
            .checked_add(data_bytes)
            .is_none_or(|need| size < need)
        {
            return Err(truncated());
        }
        let mut data = crate::memory::filled("the header's data", data_bytes as usize, 0u8)?;
        use std::io::{Read, Seek, SeekFrom};
        reader.seek(SeekFrom::Start(offset)).map_err(io)?;
        reader.read_exact(&mut data).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => truncated(),
            _ => io(e),
        })?;
        let big = self.big_endian();
        let word = |c: &[u8]| -> [u8; 4] {
            let mut w = [0u8; 4];
            w.copy_from_slice(c);
            w
        };
        let kind = (format.as_str(), bytes);
        let out: Vec<f32> = match kind {
            ("float" | "short float", 4) => data
                .chunks_exact(4)
                .map(|c| {
                    if big {
                        f32::from_be_bytes(word(c))
                    } else {
                        f32::from_le_bytes(word(c))
                    }
                })
                .collect(),
            ("signed integer", 2) => data
                .chunks_exact(2)
                .map(|c| {
                    let b = [c[0], c[1]];
                    (if big {
                        i16::from_be_bytes(b)
                    } else {
                        i16::from_le_bytes(b)
                    }) as f32
                })
                .collect(),
            ("unsigned integer", 2) => data
                .chunks_exact(2)
                .map(|c| {
                    let b = [c[0], c[1]];
                    (if big {
                        u16::from_be_bytes(b)
                    } else {
                        u16::from_le_bytes(b)
                    }) as f32
                })
                .collect(),
            ("signed integer", 4) => data
                .chunks_exact(4)
                .map(|c| {
                    (if big {
                        i32::from_be_bytes(word(c))
                    } else {
                        i32::from_le_bytes(word(c))
                    }) as f32
                })
                .collect(),
            ("unsigned integer", 4) => data
                .chunks_exact(4)
                .map(|c| {
                    (if big {
                        u32::from_be_bytes(word(c))
                    } else {
                        u32::from_le_bytes(word(c))
                    }) as f32
                })
                .collect(),
            ("unsigned integer" | "signed integer", 1) => data
                .iter()
                .map(|&b| {
                    if format.starts_with('s') {
                        b as i8 as f32
                    } else {
                        b as f32
                    }
                })
                .collect(),
            _ => {
                return Err(self.format_error(format!(
                    "number format `{format}` of {bytes} bytes: expected float (4 bytes) or \
                     signed/unsigned integer (1, 2 or 4 bytes)"
                )));
            }
        };
        crate::error::check_finite("Interfile data", &out)?;
        Ok(out)
    }
}

/// Reads an Interfile image (`.hv`): the volume `vol[z, y, x]` and its grid.
///
/// # Errors
/// [`Error::Io`]; [`Error::Format`] for a header that is not a 3D image, a missing key, an
/// unsupported number format or a data file shorter than the header says.
pub fn read_interfile_image(path: &Path) -> Result<(Array3<f32>, ImageGrid)> {
    let h = InterfileHeader::read(path)?;
    let dims = h.count("number of dimensions")?;
    if dims != 3 {
        return Err(h.format_error(format!("{dims} dimensions: expected a 3D image")));
    }
    let size: Vec<usize> = (1..=3)
        .map(|k| h.count(&format!("matrix size [{k}]")))
        .collect::<Result<_>>()?;
    let spacing: Vec<f64> = (1..=3)
        .map(|k| h.number_or(&format!("scaling factor (mm/pixel) [{k}]"), 1.0))
        .collect::<Result<_>>()?;
    let (nx, ny, nz) = (size[0], size[1], size[2]);
    let mut grid = ImageGrid::new_3d([nz, ny, nx], [spacing[2], spacing[1], spacing[0]])
        .map_err(|e| h.format_error(format!("{e}")))?;
    let offsets: Vec<Option<f64>> = (1..=3)
        .map(|k| {
            h.get(&format!("first pixel offset (mm) [{k}]"))
                .map(|_| h.number(&format!("first pixel offset (mm) [{k}]")))
                .transpose()
        })
        .collect::<Result<_>>()?;
    if offsets.iter().any(Option::is_some) {
        let o = grid.origin();
        grid = grid.with_origin([
            offsets[2].unwrap_or(o[0]),
            offsets[1].unwrap_or(o[1]),
            offsets[0].unwrap_or(o[2]),
        ])?;
    }
    let data = h.read_samples(nx * ny * nz)?;
    let vol = Array3::from_shape_vec((nz, ny, nx), data).expect("sizes checked");
    Ok((vol, grid))
}

/// Writes `vol[z, y, x]` on `grid` as an Interfile image: the header at `path` (`.hv`) and the
/// data beside it (same name, `.v`), little-endian floats, each written atomically.
///
/// # Errors
/// [`Error::ShapeMismatch`] when the volume is not the grid's shape; [`Error::Io`].
pub fn write_interfile_image(
    path: &Path,
    vol: ArrayView3<'_, f32>,
    grid: &ImageGrid,
) -> Result<()> {
    let [nz, ny, nx] = grid.shape();
    if vol.shape() != [nz, ny, nx] {
        return Err(Error::ShapeMismatch {
            what: "image",
            expected: vec![nz, ny, nx],
            got: vol.shape().to_vec(),
        });
    }
    let data_path = path.with_extension("v");
    let name = data_path.file_name().expect("file name").to_string_lossy();
    let [dz, dy, dx] = grid.spacing();
    let [oz, oy, ox] = grid.origin();
    let header = format!(
        "!INTERFILE  :=\n!imaging modality := PT\nname of data file := {name}\n!GENERAL DATA :=\n\
         !GENERAL IMAGE DATA :=\n!type of data := PET\nimagedata byte order := LITTLEENDIAN\n\
         !PET STUDY (General) :=\n!PET data type := Image\nprocess status := Reconstructed\n\
         !number format := float\n!number of bytes per pixel := 4\nnumber of dimensions := 3\n\
         matrix axis label [1] := x\n!matrix size [1] := {nx}\nscaling factor (mm/pixel) [1] := {dx}\n\
         matrix axis label [2] := y\n!matrix size [2] := {ny}\nscaling factor (mm/pixel) [2] := {dy}\n\
         matrix axis label [3] := z\n!matrix size [3] := {nz}\nscaling factor (mm/pixel) [3] := {dz}\n\
         first pixel offset (mm) [1] := {ox}\nfirst pixel offset (mm) [2] := {oy}\n\
         first pixel offset (mm) [3] := {oz}\nnumber of time frames := 1\n!END OF INTERFILE :=\n"
    );
    let bytes: Vec<u8> = vol.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_pair(path, &header, &data_path, &bytes)
}

/// Writes the data file, then the header, each atomically.
fn write_pair(header_path: &Path, header: &str, data_path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    super::write_atomically(data_path, |tmp| {
        std::fs::write(tmp, bytes).map_err(io(data_path))
    })?;
    super::write_atomically(header_path, |tmp| {
        std::fs::write(tmp, header.as_bytes()).map_err(io(header_path))
    })
}

/// The scanner an Interfile projection-data header describes (`Scanner parameters`).
fn scanner_of(h: &InterfileHeader) -> Result<PetScanner> {
    let name = h
        .get("scanner type")
        .unwrap_or("Interfile scanner")
        .to_string();
    let rings = h.count("number of rings")? as u32;
    let crystals = h.count("number of detectors per ring")? as u32;
    let radius = h.number("inner ring diameter (cm)")? * 10.0 / 2.0;
    let depth = h.number_or("average depth of interaction (cm)", 0.0)? * 10.0;
    let spacing = h.number("distance between rings (cm)")? * 10.0;
    let offset = h.number_or("view offset (degrees)", 0.0)?.to_radians();
    let s = PetScanner::new(&name, rings, crystals, radius, depth, spacing)
        .and_then(|s| s.with_view_offset(offset))
        .map_err(|e| h.format_error(format!("scanner parameters: {e}")))?;
    let s = if name.eq_ignore_ascii_case("siemens mmr") {
        PetScanner::mmr()
    } else {
        s
    };
    energy_window_of(h, s)
}

/// `scanner` with the header's energy window (`energy window lower level (keV) [1]`, `upper`)
/// and resolution (`energy resolution`, FWHM / E at 511 keV), where it states them.
///
/// # Errors
/// [`Error::Format`] for values that are not numbers or a window that does not hold 511 keV.
pub(crate) fn energy_window_of(h: &InterfileHeader, scanner: PetScanner) -> Result<PetScanner> {
    let w = scanner.energy_window();
    let lower = h.number_or("energy window lower level (kev) [1]", w.lower_kev)?;
    let upper = h.number_or("energy window upper level (kev) [1]", w.upper_kev)?;
    let resolution = h.number_or("energy resolution", w.resolution)?;
    let window = EnergyWindow::new(lower, upper, resolution)
        .map_err(|e| h.format_error(format!("energy window: {e}")))?;
    Ok(scanner.with_energy_window(window))
}

/// Reads STIR Interfile projection data (`.hs`): the sinogram in tomors' order
/// (`[view, plane, tangential]`) and its layout.
///
/// # Errors
/// [`Error::Io`]; [`Error::Format`] for a header that is not non-TOF 3D projection data, an
/// unsupported layout (segments that are not a span of odd width), segment sizes that do not
/// match the scanner and span, or a data file shorter than the header says.
pub fn read_interfile_sinogram(path: &Path) -> Result<(ArrayD<f32>, SinogramLayout)> {
    let h = InterfileHeader::read(path)?;
    let layout = layout_of(&h)?;
    let stir = h.read_samples(layout.len())?;
    let order = layout.stir_order_for(axis_order(&h)?);
    let mut data = vec![0.0f32; layout.len()];
    for (value, &i) in stir.iter().zip(&order) {
        data[i] = *value;
    }
    Ok((
        ArrayD::from_shape_vec(IxDyn(&layout.shape()), data).expect("layout shape"),
        layout,
    ))
}

/// Whether the data are `[segment][view][axial][tangential]` (true, STIR's default) or
/// `[segment][axial][view][tangential]`.
fn axis_order(h: &InterfileHeader) -> Result<bool> {
    match h
        .get("matrix axis label [3]")
        .map(str::to_lowercase)
        .as_deref()
    {
        None | Some("view") => Ok(true),
        Some("axial coordinate") => Ok(false),
        Some(other) => Err(h.format_error(format!(
            "matrix axis label [3] `{other}`: expected `view` or `axial coordinate`"
        ))),
    }
}

/// The sinogram layout an Interfile projection-data header (`.hs`) describes, without reading
/// its data.
///
/// # Errors
/// As [`read_interfile_sinogram`], for the header.
pub fn read_interfile_layout(path: &Path) -> Result<SinogramLayout> {
    layout_of(&InterfileHeader::read(path)?)
}

fn layout_of(h: &InterfileHeader) -> Result<SinogramLayout> {
    if h.get("matrix size [5]").is_some() || h.count("number of dimensions")? != 4 {
        return Err(h.format_error(
            "expected 4 dimensions (segment, view, axial coordinate, tangential); TOF \
             projection data are not read from Interfile yet"
                .into(),
        ));
    }
    let scanner = scanner_of(h)?;
    let tangential = h.count("matrix size [1]")? as u32;
    let views = h.count(if axis_order(h)? {
        "matrix size [3]"
    } else {
        "matrix size [2]"
    })? as u32;
    let axial = h.list(if axis_order(h)? {
        "matrix size [2]"
    } else {
        "matrix size [3]"
    })?;
    let min_rd = h.list("minimum ring difference per segment")?;
    let max_rd = h.list("maximum ring difference per segment")?;
    if min_rd.len() != axial.len() || max_rd.len() != axial.len() {
        return Err(h.format_error(format!(
            "{} segments of axial sizes but {} minimum and {} maximum ring differences",
            axial.len(),
            min_rd.len(),
            max_rd.len()
        )));
    }
    if let Some(v) = min_rd
        .iter()
        .chain(&max_rd)
        .find(|v| !(v.fract() == 0.0 && v.abs() <= 65_535.0))
    {
        return Err(h.format_error(format!(
            "ring difference {v}: expected whole numbers from −65535 to 65535"
        )));
    }
    let centre = min_rd.len() / 2;
    if max_rd[centre] < min_rd[centre] {
        return Err(h.format_error(format!(
            "the central segment's ring differences run from {} to {}",
            min_rd[centre], max_rd[centre]
        )));
    }
    let span = (max_rd[centre] - min_rd[centre]) as u32 + 1;
    let max = max_rd.iter().fold(0.0f64, |m, v| m.max(v.abs())) as u32;
    let n = scanner.crystals_per_ring();
    if views == 0 || (n / 2) % views != 0 {
        return Err(h.format_error(format!(
            "{views} views do not divide the {} views of {n} detectors per ring",
            n / 2
        )));
    }
    let layout = SinogramLayout::new(scanner, tangential, span, max, n / 2 / views)
        .map_err(|e| h.format_error(format!("{e}")))?;
    // The layout must reproduce every segment the header lists.
    let mut by_number: Vec<_> = layout.segments().to_vec();
    by_number.sort_by_key(|s| s.number);
    let listed: Vec<(i32, i32, u32)> = (0..axial.len())
        .map(|i| (min_rd[i] as i32, max_rd[i] as i32, axial[i] as u32))
        .collect();
    let ours: Vec<(i32, i32, u32)> = by_number
        .iter()
        .map(|s| (s.min_ring_difference, s.max_ring_difference, s.planes))
        .collect();
    if listed != ours {
        return Err(h.format_error(format!(
            "segments (min, max ring difference, axial positions) {listed:?} do not match span \
             {span} with maximum ring difference {max} on this scanner, which gives {ours:?}"
        )));
    }
    Ok(layout)
}

/// Writes `data` (of `layout`, tomors' order) as STIR Interfile projection data: header at
/// `path` (`.hs`), little-endian floats beside it (`.s`), `[segment][view][axial][tangential]`.
///
/// # Errors
/// [`Error::ShapeMismatch`] when `data` does not have the layout's shape;
/// [`Error::InvalidArgument`] for a TOF layout (not written yet); [`Error::Io`].
pub fn write_interfile_sinogram(
    path: &Path,
    data: ArrayViewD<'_, f32>,
    layout: &SinogramLayout,
) -> Result<()> {
    layout.check_shape("sinogram", data.shape())?;
    if layout.tof().is_some() {
        return Err(Error::InvalidArgument(
            "TOF sinograms are not written as Interfile yet; write each TOF bin or use \
             without_tof()"
                .into(),
        ));
    }
    let data = data.as_standard_layout();
    let flat = data.as_slice().expect("standard layout");
    let bytes: Vec<u8> = layout
        .stir_order_for(true)
        .iter()
        .flat_map(|&i| flat[i].to_le_bytes())
        .collect();
    let mut segs: Vec<_> = layout.segments().to_vec();
    segs.sort_by_key(|s| s.number);
    let list = |f: &dyn Fn(&crate::geometry::pet::Segment) -> String| {
        segs.iter().map(f).collect::<Vec<_>>().join(",")
    };
    let s = layout.scanner();
    let data_path = path.with_extension("s");
    let name = data_path.file_name().expect("file name").to_string_lossy();
    let header = format!(
        "!INTERFILE  :=\n!imaging modality := PT\nname of data file := {name}\n\
         originating system := {}\n!version of keys := STIR4.0\n!GENERAL DATA :=\n\
         !GENERAL IMAGE DATA :=\n!type of data := PET\nimagedata byte order := LITTLEENDIAN\n\
         !PET STUDY (General) :=\n!PET data type := Emission\napplied corrections := {{None}}\n\
         !number format := float\n!number of bytes per pixel := 4\nnumber of dimensions := 4\n\
         matrix axis label [4] := segment\n!matrix size [4] := {}\n\
         matrix axis label [3] := view\n!matrix size [3] := {}\n\
         matrix axis label [2] := axial coordinate\n!matrix size [2] := {{ {} }}\n\
         matrix axis label [1] := tangential coordinate\n!matrix size [1] := {}\n\
         minimum ring difference per segment := {{ {} }}\n\
         maximum ring difference per segment := {{ {} }}\n\
         Scanner parameters:=\nScanner type := {}\nNumber of rings := {}\n\
         Number of detectors per ring := {}\nInner ring diameter (cm) := {}\n\
         Average depth of interaction (cm) := {}\nDistance between rings (cm) := {}\n\
         Default bin size (cm) := {}\nView offset (degrees) := {}\n\
         Maximum number of non-arc-corrected bins := {}\n\
         Default number of arc-corrected bins := {}\n\
         Energy resolution := {}\nReference energy (in keV) := 511\n\
         end scanner parameters:=\n\
         number of energy windows := 1\n%energy window lower level (keV) [1] := {}\n\
         %energy window upper level (keV) [1] := {}\n\
         number of time frames := 1\n!END OF INTERFILE :=\n",
        s.name(),
        segs.len(),
        layout.views(),
        list(&|g| g.planes.to_string()),
        layout.tangential(),
        list(&|g| g.min_ring_difference.to_string()),
        list(&|g| g.max_ring_difference.to_string()),
        s.name(),
        s.rings(),
        s.crystals_per_ring(),
        s.radius_mm() * 2.0 / 10.0,
        s.interaction_depth_mm() / 10.0,
        s.ring_spacing_mm() / 10.0,
        s.effective_radius_mm() * (std::f64::consts::PI / s.crystals_per_ring() as f64).sin()
            / 10.0,
        s.view_offset().to_degrees(),
        layout.tangential(),
        layout.tangential(),
        s.energy_window().resolution,
        s.energy_window().lower_kev,
        s.energy_window().upper_kev,
    );
    write_pair(path, &header, &data_path, &bytes)
}

/// A number from a header as a message shows it: whole numbers below 10¹⁵ as integers, others
/// in exponent form (`1e300`, not its 301 digits).
pub(crate) fn shown(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:e}")
    }
}

/// [`shown`] for each of a list: `[344, 127]`.
pub(crate) fn shown_list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|&x| shown(x)).collect();
    format!("[{}]", items.join(", "))
}
