//! One-page pictures: RGB panels laid out on a grid of square tiles, each with a caption, and
//! a panel of text (8×8 public-domain glyphs from `font8x8`, drawn at twice their size).

use font8x8::UnicodeFonts;
use ndarray::{Array3, ArrayView3};

/// Pixels per glyph side as drawn.
const GLYPH: usize = 16;
/// Space above each tile for its caption.
const CAPTION: usize = GLYPH + 8;
const BACKGROUND: [u8; 3] = [0, 0, 0];
const INK: [u8; 3] = [230, 230, 230];

/// A page of `columns` tiles per row, each `tile` pixels square (plus a caption line).
#[derive(Debug)]
pub struct Page {
    columns: usize,
    tile: usize,
    panels: Vec<(String, Panel)>,
}

#[derive(Debug)]
enum Panel {
    Picture(Array3<u8>),
    Text(Vec<String>),
}

impl Page {
    /// An empty page (`columns` ≥ 1, `tile` ≥ 64 pixels; smaller values are raised).
    pub fn new(columns: usize, tile: usize) -> Self {
        Self {
            columns: columns.max(1),
            tile: tile.max(64),
            panels: Vec::new(),
        }
    }

    /// Adds an RGB picture `[rows, cols, 3]`, scaled (nearest neighbour, aspect kept) to fit
    /// its tile, under `caption`.
    pub fn picture(&mut self, caption: &str, rgb: ArrayView3<'_, u8>) -> &mut Self {
        self.panels
            .push((caption.into(), Panel::Picture(rgb.to_owned())));
        self
    }

    /// Adds lines of text (ASCII; others drawn as '?'), filling as many tiles of the row as
    /// are left; long lines are wrapped at spaces, and what does not fit the tile is cut.
    pub fn text(&mut self, caption: &str, lines: &[String]) -> &mut Self {
        self.panels
            .push((caption.into(), Panel::Text(lines.to_vec())));
        self
    }

    /// The page as RGB bytes `[rows, cols, 3]`.
    pub fn render(&self) -> Array3<u8> {
        let cell = self.tile + CAPTION;
        // A text panel takes the rest of its row.
        let mut placed = Vec::new();
        let (mut row, mut col) = (0, 0);
        for (caption, panel) in &self.panels {
            if col == self.columns {
                (row, col) = (row + 1, 0);
            }
            let span = match panel {
                Panel::Picture(_) => 1,
                Panel::Text(_) => self.columns - col,
            };
            placed.push((row, col, span, caption, panel));
            col += span;
        }
        let rows = row + 1;
        let mut page =
            Array3::from_shape_fn((rows * cell, self.columns * self.tile, 3), |(_, _, c)| {
                BACKGROUND[c]
            });
        for (row, col, span, caption, panel) in placed {
            let (top, left) = (row * cell, col * self.tile);
            draw_text(&mut page, top + 4, left + 4, caption, span * self.tile - 8);
            match panel {
                Panel::Picture(rgb) => self.blit(&mut page, top + CAPTION, left, rgb.view()),
                Panel::Text(lines) => {
                    let width = (span * self.tile - 16) / GLYPH;
                    let wrapped: Vec<String> = lines.iter().flat_map(|l| wrap(l, width)).collect();
                    for (i, line) in wrapped.iter().enumerate() {
                        let y = top + CAPTION + 4 + i * (GLYPH + 6);
                        if y + GLYPH > top + cell {
                            break;
                        }
                        draw_text(&mut page, y, left + 8, line, span * self.tile - 16);
                    }
                }
            }
        }
        page
    }

    /// Draws `rgb` scaled to fit a tile, centred in it.
    fn blit(&self, page: &mut Array3<u8>, top: usize, left: usize, rgb: ArrayView3<'_, u8>) {
        let (h, w, _) = rgb.dim();
        if h == 0 || w == 0 {
            return;
        }
        let scale = self.tile as f64 / h.max(w) as f64;
        let (sh, sw) = (
            ((h as f64 * scale) as usize).max(1),
            ((w as f64 * scale) as usize).max(1),
        );
        let (oy, ox) = ((self.tile - sh) / 2, (self.tile - sw) / 2);
        for y in 0..sh {
            let sy = ((y as f64 + 0.5) / scale) as usize;
            for x in 0..sw {
                let sx = ((x as f64 + 0.5) / scale) as usize;
                for c in 0..3 {
                    page[[top + oy + y, left + ox + x, c]] = rgb[[sy.min(h - 1), sx.min(w - 1), c]];
                }
            }
        }
    }
}

/// `line` split at spaces into pieces of at most `width` characters (a longer word is cut);
/// continuation lines are indented by two spaces.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        let indent = if out.is_empty() { 0 } else { 2 };
        if !current.is_empty()
            && current.chars().count() + 1 + word.chars().count() + indent > width
        {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out.into_iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l } else { format!("  {l}") })
        .collect()
}

/// The ASCII stand-in for the few non-ASCII characters tomors' own messages use.
fn ascii(c: char) -> char {
    match c {
        'μ' => 'u',
        '²' => '2',
        '³' => '3',
        '–' | '−' => '-',
        '×' => 'x',
        '°' => 'o',
        other => other,
    }
}

/// Draws `text` with its top-left corner at (`top`, `left`), cut to `max_width` pixels.
fn draw_text(page: &mut Array3<u8>, top: usize, left: usize, text: &str, max_width: usize) {
    let (rows, cols, _) = page.dim();
    for (i, ch) in text.chars().map(ascii).take(max_width / GLYPH).enumerate() {
        let glyph = font8x8::BASIC_FONTS
            .get(ch)
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        for (gy, bits) in glyph.iter().enumerate() {
            for gx in 0..8 {
                if bits >> gx & 1 == 0 {
                    continue;
                }
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let (y, x) = (top + 2 * gy + dy, left + i * GLYPH + 2 * gx + dx);
                    if y < rows && x < cols {
                        for c in 0..3 {
                            page[[y, x, c]] = INK[c];
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_places_pictures_and_text() {
        let red = Array3::from_shape_fn((10, 20, 3), |(_, _, c)| if c == 0 { 255 } else { 0 });
        let mut page = Page::new(3, 64);
        page.picture("a", red.view())
            .picture("b", red.view())
            .text("settings", &["x = 1".into()]);
        let p = page.render();
        assert_eq!(p.dim(), (64 + CAPTION, 3 * 64, 3));
        // The picture fills its tile's width (aspect 2:1 → 64×32, centred vertically).
        let y = CAPTION + 32;
        assert_eq!([p[[y, 1, 0]], p[[y, 1, 1]]], [255, 0]);
        assert_eq!(p[[CAPTION + 2, 1, 0]], 0);
        // Captions and text leave ink.
        let ink = |y0: usize, y1: usize, x0: usize, x1: usize| {
            (y0..y1).any(|y| (x0..x1).any(|x| p[[y, x, 1]] == INK[1]))
        };
        assert!(ink(0, CAPTION, 0, 64));
        assert!(ink(CAPTION, 64 + CAPTION, 2 * 64, 3 * 64));
        assert_eq!(
            wrap("aaa bbb ccc ddd", 8),
            vec!["aaa bbb", "  ccc", "  ddd"]
        );
        // A fourth panel starts a new row.
        page.picture("c", red.view());
        assert_eq!(page.render().dim().0, 2 * (64 + CAPTION));
    }
}
