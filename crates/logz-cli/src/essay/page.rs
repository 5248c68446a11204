//! The page: sections, tables (each also a CSV file beside the page and a download link that
//! carries the CSV inside the page) and figures (plotters SVG inlined in the page, the same file
//! beside it, and a PNG rasterised from it). Nothing here computes physics.

use crate::plot::{self, Panel};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// A number's kind as a small label (the `EstimateKind` names of the JSON output).
pub fn kind(label: &str) -> String {
    format!("<span class=\"kind\">{}</span>", esc(label))
}

/// A number with 12 significant digits (or "—" when it is missing or not finite).
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-4..1e7).contains(&a) {
        let decimals = (11 - a.log10().floor() as i32).clamp(0, 15) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.11e}")
    }
}

/// A standard error: two significant digits, with its ± sign.
pub fn pm(x: f64) -> String {
    if x.is_finite() && x > 0.0 {
        let d = (1 - x.log10().floor() as i32).clamp(0, 15) as usize;
        if d > 0 && x >= 1e-4 {
            return format!("±{x:.d$}");
        }
        return format!("±{x:.1e}");
    }
    if x == 0.0 {
        "±0".into()
    } else {
        "—".into()
    }
}

/// An optional number.
pub fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "—".into(), num)
}

/// A table: shown in the page, written as `<id>.csv` beside it.
pub struct Table {
    pub id: String,
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(id: &str, caption: &str, headers: &[&str]) -> Table {
        Table {
            id: id.into(),
            caption: caption.into(),
            headers: headers.iter().map(|s| s.to_string()).collect(),
            rows: vec![],
        }
    }
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
    fn csv(&self) -> String {
        let field = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = String::new();
        for r in std::iter::once(&self.headers).chain(&self.rows) {
            let line: Vec<String> = r.iter().map(|c| field(c)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }
}

/// Percent-encode for a `data:` URI (RFC 3986 unreserved characters pass).
fn percent(s: &str) -> String {
    let mut o = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// The page under construction and the folder it goes to.
pub struct Page {
    out: PathBuf,
    sections: Vec<(String, String, String)>,
    /// Every file written beside the page (figures and tables).
    pub files: Vec<PathBuf>,
}

impl Page {
    pub fn new(out: &Path) -> Result<Page> {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        Ok(Page {
            out: out.to_path_buf(),
            sections: vec![],
            files: vec![],
        })
    }

    /// Add a section (`id` is its anchor, `body` its HTML).
    pub fn section(&mut self, id: &str, title: &str, body: String) {
        self.sections.push((id.into(), title.into(), body));
    }

    /// Write the table's CSV beside the page; return its HTML with a download link.
    pub fn table(&mut self, t: &Table) -> Result<String> {
        let csv = t.csv();
        let path = self.out.join(format!("{}.csv", t.id));
        std::fs::write(&path, &csv).with_context(|| format!("writing {}", path.display()))?;
        self.files.push(path);
        let mut h = format!(
            "<div class=\"scroll\"><table id=\"table-{}\"><caption>{}</caption><thead><tr>",
            esc(&t.id),
            esc(&t.caption)
        );
        for c in &t.headers {
            let _ = write!(h, "<th>{}</th>", esc(c));
        }
        h.push_str("</tr></thead><tbody>");
        for r in &t.rows {
            h.push_str("<tr>");
            for c in r {
                let numeric = c.parse::<f64>().is_ok() || c.starts_with('±');
                let _ = write!(
                    h,
                    "<td{}>{}</td>",
                    if numeric { " class=\"num\"" } else { "" },
                    esc(c)
                );
            }
            h.push_str("</tr>");
        }
        let _ = write!(
            h,
            "</tbody></table></div><p class=\"downloads\"><a download=\"{id}.csv\" \
             href=\"data:text/csv;charset=utf-8,{}\">download {id}.csv</a></p>",
            percent(&csv),
            id = esc(&t.id)
        );
        Ok(h)
    }

    /// Draw `panels` to `<name>.svg` and `<name>.png` beside the page; return the figure's HTML
    /// (the SVG inlined).
    pub fn figure(
        &mut self,
        name: &str,
        caption: &str,
        panels: &[Panel],
        cols: usize,
    ) -> Result<String> {
        let svg_path = self.out.join(format!("{name}.svg"));
        plot::draw(&svg_path, panels, cols)?;
        let png_path = plot::svg_to_png(&svg_path, 1.5)?;
        let svg = std::fs::read_to_string(&svg_path)?;
        let inline = svg.find("<svg").map_or(svg.as_str(), |k| &svg[k..]);
        self.files.push(svg_path);
        self.files.push(png_path);
        Ok(format!(
            "<figure id=\"fig-{n}\">{inline}<figcaption>{}</figcaption>\
             <p class=\"downloads\">beside the page: <code>{n}.svg</code>, <code>{n}.png</code></p></figure>",
            esc(caption),
            n = esc(name)
        ))
    }

    /// Write `index.html`: title, contents, sections, the inline script.
    pub fn finish(self, title: &str, intro: &str, script: &str) -> Result<PathBuf> {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{t}</title><style>{css}</style></head><body><h1>{t}</h1>{intro}<nav><ol>",
            t = esc(title),
            css = include_str!("style.css")
        );
        for (id, title, _) in &self.sections {
            let _ = write!(h, "<li><a href=\"#{}\">{}</a></li>", esc(id), esc(title));
        }
        h.push_str("</ol></nav>");
        for (id, title, body) in &self.sections {
            let _ = write!(
                h,
                "<section id=\"{}\"><h2>{}</h2>{body}</section>",
                esc(id),
                esc(title)
            );
        }
        let _ = writeln!(h, "<script>{script}</script></body></html>");
        let path = self.out.join("index.html");
        std::fs::write(&path, h).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_escapes() {
        assert_eq!(num(-0.775516313851923), "-0.775516313852");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "—");
        assert_eq!(num(123.5), "123.5");
        assert_eq!(pm(0.0124200824359), "±0.012");
        assert_eq!(pm(3.5), "±3.5");
        assert_eq!(pm(2e-6), "±2.0e-6");
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(percent("a,b\n"), "a%2Cb%0A");
    }
}
