//! SVG line plots (plotters with an embedded DejaVu font, so no system fonts are needed).

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// One curve: label, points and style slot.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Style slot: a colour and a dash pattern of its own (see [`STYLES`]); keep it per method so
    /// every panel draws a method alike.
    pub color: usize,
}

/// A panel: title, axis labels and curves.
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Optional vertical marker lines (x, label).
    pub vlines: Vec<(f64, String)>,
    /// Optional points to mark with circles.
    pub marks: Vec<(f64, f64)>,
}

fn bounds(panel: &Panel) -> (f64, f64, f64, f64) {
    let pts = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .chain(panel.marks.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        if x.is_finite() && y.is_finite() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if !x0.is_finite() {
        return (0.0, 1.0, 0.0, 1.0);
    }
    let pad = |a: f64, b: f64| if b > a { 0.05 * (b - a) } else { 0.5 };
    let (px, py) = (pad(x0, x1), pad(y0, y1));
    (x0 - px, x1 + px, y0 - py, y1 + py)
}

/// One style per slot: a distinct colour *and* a distinct dash pattern (dash and gap lengths in
/// pixels; empty = solid), so curves stay apart in grey print and for colour-blind readers.
/// The colours are the Okabe–Ito palette (Okabe & Ito 2008, safe for every common form of colour
/// blindness), yellow last since it is faint on white, then grey and wine.
/// Slot 0 (black, solid) is for exact values. Every figure of `compare`, `meanfield`, `sample`,
/// `fit` and `report` draws through this table, so a method looks the same everywhere.
pub const STYLES: [(RGBColor, &str); 10] = [
    (RGBColor(0, 0, 0), ""),
    (RGBColor(0, 114, 178), "10 5"),
    (RGBColor(213, 94, 0), "2 4"),
    (RGBColor(0, 158, 115), "10 4 2 4"),
    (RGBColor(204, 121, 167), "18 6"),
    (RGBColor(230, 159, 0), "10 4 2 4 2 4"),
    (RGBColor(86, 180, 233), "5 4"),
    (RGBColor(136, 34, 85), "18 5 3 5"),
    (RGBColor(127, 127, 127), "3 2"),
    (RGBColor(240, 228, 66), "14 3 3 3 3 3"),
];

/// The style slot of each method that has one of its own: a method is drawn alike in every
/// figure of every command (exact values black and solid).
const METHOD_SLOTS: [(&str, usize); 10] = [
    ("exact", 0),
    ("mf", 1),
    ("trw", 2),
    ("ti", 3),
    ("van", 4),
    ("bbvi", 5),
    ("bethe", 6),
    ("tap", 7),
    ("ais", 8),
    ("onsager", 9),
];

/// Style slots for a list of methods: each method's own slot where it has one, the others the
/// lowest slots no method of the list uses — distinct within the list, stable across figures.
pub fn method_slots<S: AsRef<str>>(methods: &[S]) -> Vec<usize> {
    let own = |m: &str| METHOD_SLOTS.iter().find(|(n, _)| *n == m).map(|p| p.1);
    let mut used: Vec<usize> = methods.iter().filter_map(|m| own(m.as_ref())).collect();
    methods
        .iter()
        .map(|m| {
            own(m.as_ref()).unwrap_or_else(|| {
                let free = (0..).find(|k| !used.contains(k)).unwrap_or(0);
                used.push(free);
                free
            })
        })
        .collect()
}

/// The colour of a style slot as CSS hex (`#RRGGBB`), for figures drawn in the browser.
pub fn css_colour(slot: usize) -> String {
    let c = style_of(slot).0;
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// The dash pattern of a style slot as an SVG `stroke-dasharray` (empty = solid).
pub fn css_dash(slot: usize) -> &'static str {
    style_of(slot).1
}

/// Vertical marker lines, in order: greys no slot uses, each with its own dash pattern.
const VLINES: [(RGBColor, &str); 3] = [
    (RGBColor(170, 170, 170), "4 4"),
    (RGBColor(100, 100, 100), "1 3"),
    (RGBColor(200, 160, 160), "8 3 1 3"),
];

/// Drawing happens at `SCALE` times the figure size and the SVG declares the figure size, so
/// the viewer shrinks it: plotters places every vertex on an integer pixel, and at 1:1 that
/// rounding makes smooth curves visibly jagged; here it is a quarter of a pixel.
const SCALE: u32 = 4;

/// The style slot's colour and dash pattern.
fn style_of(slot: usize) -> (RGBColor, &'static str) {
    STYLES[slot % STYLES.len()]
}

/// Give every `<polyline>` drawn in a slot's colour (its curve and its legend swatch) that
/// slot's dash pattern, scaled to the drawing, and declare the figure's size.
fn finish_svg(svg: &str, (w, h): (u32, u32)) -> String {
    let hex = |c: RGBColor| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
    let dashes: Vec<(String, String)> = STYLES
        .iter()
        .chain(VLINES.iter())
        .filter(|(_, d)| !d.is_empty())
        .map(|&(c, d)| {
            let scaled: Vec<String> = d
                .split_whitespace()
                .map(|x| (x.parse::<u32>().unwrap_or(1) * SCALE).to_string())
                .collect();
            (format!("stroke=\"{}\"", hex(c)), scaled.join(" "))
        })
        .collect();
    let mut out = String::with_capacity(svg.len() + 4096);
    let mut rest = svg;
    while let Some(k) = rest.find("<polyline ") {
        let (head, tail) = rest.split_at(k);
        out.push_str(head);
        let end = tail.find('>').map_or(tail.len(), |e| e + 1);
        let tag = &tail[..end];
        out.push_str("<polyline stroke-linejoin=\"round\" ");
        if let Some((_, d)) = dashes.iter().find(|(c, _)| tag.contains(c.as_str())) {
            out.push_str(&format!("stroke-dasharray=\"{d}\" "));
        }
        out.push_str(&tag["<polyline ".len()..]);
        rest = &tail[end..];
    }
    out.push_str(rest);
    // The root element: drawn at SCALE × (w, h), shown at (w, h).
    let from = format!("width=\"{}\" height=\"{}\"", w * SCALE, h * SCALE);
    out.replacen(&from, &format!("width=\"{w}\" height=\"{h}\""), 1)
}

/// Tick labels per axis (plotters picks round values near this many).
const X_TICKS: usize = 7;
const Y_TICKS: usize = 8;

/// A tick label for `v` on an axis spanning `range` with ticks about `step` apart: fixed-point
/// with just the decimals the spacing needs, or — when the axis's largest magnitude is very large
/// or very small — scientific notation with the digits the spacing needs. One style per axis.
fn tick_label(v: f64, step: f64, range: (f64, f64)) -> String {
    let step = step.abs();
    if !(v.is_finite() && step > 0.0 && step.is_finite()) {
        return format!("{v}");
    }
    // Ticks are round multiples of the spacing; what is left near zero is rounding.
    let v = if v.abs() < 1e-9 * step { 0.0 } else { v };
    let mag = range.0.abs().max(range.1.abs()).max(step);
    if (1e-3..1e6).contains(&mag) {
        // plotters spaces ticks by a round 1, 2 or 5 × 10^k ≥ step: k's decimals suffice.
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        let text = format!("{v:.decimals$}");
        return match text.strip_prefix('-') {
            Some(t) if t.chars().all(|c| c == '0' || c == '.') => t.to_string(),
            _ => text,
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    // Mantissa digits: enough to tell ticks `step` apart at this value's exponent.
    let digits = (v.abs().log10().floor() - step.log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.digits$e}")
}

/// The corner where the legend hides the fewest points of the curves (each segment sampled
/// finely, vertical marker lines included), preferring upper left, then upper right.
fn legend_corner(panel: &Panel, (x0, x1, y0, y1): (f64, f64, f64, f64)) -> SeriesLabelPosition {
    // The legend's size as a fraction of the plotting area (about 480 × 330 px): a swatch and
    // ~6.5 px per character across, ~17 px per entry down.
    let labels = panel
        .series
        .iter()
        .map(|s| s.label.chars().count())
        .chain(panel.vlines.iter().map(|v| v.1.chars().count()));
    let chars = labels.clone().max().unwrap_or(0) as f64;
    let entries = labels.count() as f64;
    let (w, h) = (
        (70.0 + 6.5 * chars) / 480.0,
        (12.0 + 17.0 * entries) / 330.0,
    );
    let norm = |(x, y): (f64, f64)| ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for s in &panel.series {
        let p: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&p| norm(p))
            .collect();
        for seg in p.windows(2) {
            for k in 0..20 {
                let t = k as f64 / 20.0;
                pts.push((
                    seg[0].0 + t * (seg[1].0 - seg[0].0),
                    seg[0].1 + t * (seg[1].1 - seg[0].1),
                ));
            }
        }
        pts.extend(p.last());
    }
    for (x, _) in &panel.vlines {
        pts.extend((0..=50).map(|k| norm((*x, y0 + (y1 - y0) * k as f64 / 50.0))));
    }
    pts.extend(panel.marks.iter().map(|&p| norm(p)));
    let corners = [
        (SeriesLabelPosition::UpperLeft, 0.0, 1.0 - h),
        (SeriesLabelPosition::UpperRight, 1.0 - w, 1.0 - h),
        (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
        (SeriesLabelPosition::LowerRight, 1.0 - w, 0.0),
    ];
    let mut best = (usize::MAX, SeriesLabelPosition::UpperLeft);
    for (pos, cx, cy) in corners {
        let hidden = pts
            .iter()
            .filter(|(x, y)| *x >= cx && *x <= cx + w && *y >= cy && *y <= cy + h)
            .count();
        if hidden < best.0 {
            best = (hidden, pos);
        }
    }
    best.1
}

/// Draw panels side by side (in a grid of `cols` columns) into one SVG file.
pub fn draw(path: &Path, panels: &[Panel], cols: usize) -> Result<()> {
    register_font();
    let cols = cols.max(1);
    let rows = panels.len().div_ceil(cols).max(1);
    let (w, h) = (560 * cols as u32, 420 * rows as u32);
    let k = SCALE as i32;
    let px = |x: u32| x * SCALE;
    let err = |e: &dyn std::fmt::Display| anyhow!("plot: {e}");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (px(w), px(h))).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let areas = root.split_evenly((rows, cols));
        let mut legended: Vec<String> = Vec::new();
        for (panel, area) in panels.iter().zip(areas.iter()) {
            let (x0, x1, y0, y1) = bounds(panel);
            // Tick labels with as many decimals as the tick spacing needs (plotters' default
            // prints "14200.0" and lets long labels run into each other and the axis title).
            let (x_step, y_step) = ((x1 - x0) / X_TICKS as f64, (y1 - y0) / Y_TICKS as f64);
            let x_fmt = move |v: &f64| tick_label(*v, x_step, (x0, x1));
            let y_fmt = move |v: &f64| tick_label(*v, y_step, (y0, y1));
            let y_chars = [y0, y1, 0.5 * (y0 + y1)]
                .iter()
                .map(|v| y_fmt(v).chars().count())
                .max()
                .unwrap_or(4) as u32;
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, ("sans-serif", 18 * k))
                .margin(px(12))
                .x_label_area_size(px(40))
                .y_label_area_size(px(30 + 8 * y_chars))
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .x_labels(X_TICKS)
                .y_labels(Y_TICKS)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .x_desc(&panel.x_label)
                .y_desc(&panel.y_label)
                .label_style(("sans-serif", 13 * k))
                .axis_desc_style(("sans-serif", 13 * k))
                .axis_style(BLACK.stroke_width(px(1)))
                .bold_line_style(BLACK.mix(0.18).stroke_width(px(1)))
                .light_line_style(BLACK.mix(0.06).stroke_width(px(1)))
                .set_all_tick_mark_size(px(5))
                .draw()
                .map_err(|e| err(&e))?;
            for s in &panel.series {
                let (color, _) = style_of(s.color);
                let style = ShapeStyle {
                    color: color.to_rgba(),
                    filled: false,
                    stroke_width: px(2),
                };
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .cloned()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect();
                // One polyline per curve; `finish_svg` gives it (and the legend swatch, drawn
                // in the same colour) the slot's dash pattern.
                chart
                    .draw_series(LineSeries::new(pts.clone(), style))
                    .map_err(|e| err(&e))?
                    .label(s.label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 36 * k, y)], style));
                // Markers where the data are sparse (one per β of a sweep).
                if (3..=40).contains(&pts.len()) {
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, px(2), color.filled())))
                        .map_err(|e| err(&e))?;
                }
            }
            for (v, (x, label)) in panel.vlines.iter().enumerate() {
                if *x >= x0 && *x <= x1 {
                    let st = ShapeStyle {
                        color: VLINES[v % VLINES.len()].0.to_rgba(),
                        filled: false,
                        stroke_width: px(1),
                    };
                    chart
                        .draw_series(LineSeries::new(vec![(*x, y0), (*x, y1)], st))
                        .map_err(|e| err(&e))?
                        .label(label.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 36 * k, y)], st));
                }
            }
            if !panel.marks.is_empty() {
                chart
                    .draw_series(
                        panel
                            .marks
                            .iter()
                            .map(|&p| Circle::new(p, px(6), RED.stroke_width(px(2)))),
                    )
                    .map_err(|e| err(&e))?;
            }
            // A legend only where it tells something new: panels whose every entry an earlier
            // panel's legend already shows (same label, hence same style) go without one.
            let labels: Vec<&String> = panel
                .series
                .iter()
                .map(|s| &s.label)
                .chain(panel.vlines.iter().map(|v| &v.1))
                .collect();
            if labels.iter().all(|l| legended.contains(l)) {
                continue;
            }
            legended.extend(labels.into_iter().cloned());
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.stroke_width(px(1)))
                .label_font(("sans-serif", 12 * k))
                .legend_area_size(px(44))
                .margin(px(8))
                .position(legend_corner(panel, (x0, x1, y0, y1)))
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    std::fs::write(path, finish_svg(&svg, (w, h)))
        .map_err(|e| anyhow!("plot {}: {e}", path.display()))?;
    Ok(())
}

/// Rasterise an SVG file written by [`draw`] to a PNG beside it (same name, `.png`), at the
/// figure's declared size times `scale`. Pure Rust (resvg): the text is set in the same embedded
/// DejaVu Sans as the SVG, so no system fonts are needed.
pub fn svg_to_png(svg_path: &Path, scale: f32) -> Result<std::path::PathBuf> {
    let svg = std::fs::read_to_string(svg_path)
        .map_err(|e| anyhow!("reading {}: {e}", svg_path.display()))?;
    let mut opt = resvg::usvg::Options::default();
    {
        let db = opt.fontdb_mut();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.set_sans_serif_family("DejaVu Sans");
    }
    opt.font_family = "DejaVu Sans".into();
    let tree = resvg::usvg::Tree::from_str(&svg, &opt)
        .map_err(|e| anyhow!("{}: not a valid SVG: {e}", svg_path.display()))?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    );
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w.max(1), h.max(1))
        .ok_or_else(|| anyhow!("{}: figure too large to rasterise", svg_path.display()))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let png_path = svg_path.with_extension("png");
    pixmap
        .save_png(&png_path)
        .map_err(|e| anyhow!("writing {}: {e}", png_path.display()))?;
    Ok(png_path)
}

#[cfg(test)]
mod tests {
    use super::{method_slots, tick_label};

    #[test]
    fn methods_keep_their_style_and_lists_never_share_one() {
        assert_eq!(method_slots(&["exact", "mf", "van"]), vec![0, 1, 4]);
        assert_eq!(method_slots(&["van", "mf"]), vec![4, 1]);
        // Methods without a slot of their own take the lowest free ones.
        assert_eq!(
            method_slots(&["enumerate", "exact", "kaufman"]),
            vec![1, 0, 2]
        );
    }

    #[test]
    fn tick_labels_carry_the_decimals_their_spacing_needs() {
        assert_eq!(tick_label(14200.0, 250.0, (14000.0, 16000.0)), "14200");
        assert_eq!(tick_label(0.25, 0.05, (0.0, 1.0)), "0.25");
        assert_eq!(
            tick_label(-22111.5, 0.06, (-22112.1, -22111.5)),
            "-22111.50"
        );
        // Rounding residue at zero prints as zero, without a sign.
        assert_eq!(tick_label(-1e-20, 0.1, (-1.0, 1.0)), "0.0");
        // One style per axis: small densities in scientific notation, zero included.
        assert_eq!(tick_label(5e-4, 2.5e-4, (0.0, 8e-4)), "5e-4");
        assert_eq!(tick_label(1.5e-4, 5e-5, (0.0, 4e-4)), "1.5e-4");
        assert_eq!(tick_label(1e-20, 5e-5, (0.0, 4e-4)), "0");
        assert_eq!(tick_label(2.5e7, 5e6, (0.0, 4e7)), "2.5e7");
    }
}
