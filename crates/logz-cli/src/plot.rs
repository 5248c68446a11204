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

/// One curve: label, points, and whether to draw markers (for sparse methods).
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    /// Colour slot (kept per method so every panel uses the same colour for it).
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

const COLORS: [RGBColor; 10] = [
    RGBColor(0, 0, 0),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];

/// Draw panels side by side (in a grid of `cols` columns) into one SVG file.
pub fn draw(path: &Path, panels: &[Panel], cols: usize) -> Result<()> {
    register_font();
    let cols = cols.max(1);
    let rows = panels.len().div_ceil(cols).max(1);
    let (w, h) = (560 * cols as u32, 420 * rows as u32);
    let root = SVGBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
    let areas = root.split_evenly((rows, cols));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        let (x0, x1, y0, y1) = bounds(panel);
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| anyhow!("plot: {e}"))?;
        chart
            .configure_mesh()
            .x_desc(&panel.x_label)
            .y_desc(&panel.y_label)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
        for (k, s) in panel.series.iter().enumerate() {
            let _ = k;
            let color = COLORS[s.color % COLORS.len()];
            let style = ShapeStyle {
                color: color.to_rgba(),
                filled: false,
                stroke_width: 2,
            };
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .cloned()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            let drawn = if s.dashed {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
            } else {
                chart.draw_series(LineSeries::new(pts.clone(), style))
            };
            drawn
                .map_err(|e| anyhow!("plot: {e}"))?
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            if pts.len() <= 40 {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 2, color.filled())))
                    .map_err(|e| anyhow!("plot: {e}"))?;
            }
        }
        for (x, label) in &panel.vlines {
            if *x >= x0 && *x <= x1 {
                let st = ShapeStyle {
                    color: RGBColor(150, 150, 150).to_rgba(),
                    filled: false,
                    stroke_width: 1,
                };
                chart
                    .draw_series(DashedLineSeries::new(vec![(*x, y0), (*x, y1)], 4, 4, st))
                    .map_err(|e| anyhow!("plot: {e}"))?
                    .label(label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], st));
            }
        }
        if !panel.marks.is_empty() {
            chart
                .draw_series(
                    panel
                        .marks
                        .iter()
                        .map(|&p| Circle::new(p, 6, RED.stroke_width(2))),
                )
                .map_err(|e| anyhow!("plot: {e}"))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
    }
    root.present()
        .map_err(|e| anyhow!("plot {}: {e}", path.display()))?;
    Ok(())
}
