//! Samples of spin configurations: a compact store (one `i8` per spin), its CSV reader and
//! writer, and the moment statistics every inverse method starts from.
//!
//! CSV: an optional header line of unique column names (`s0,…,s{N-1}` as `logz sample --save`
//! writes it), then one configuration per line, either all ±1 or all 0/1 (0 is read as −1).
//! Blank lines and lines starting with `#` are skipped.

use crate::error::{Error, Result};
use nalgebra::DMatrix;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// M configurations of N spins, row-major, one `i8` (±1) per spin.
#[derive(Debug, Clone)]
pub struct Samples {
    n: usize,
    spins: Vec<i8>,
    names: Vec<String>,
    /// Remarks about the data (constant columns, fewer samples than spins, …).
    pub notes: Vec<String>,
}

fn parse_err(file: &str, line: usize, reason: impl Into<String>) -> Error {
    Error::Parse {
        place: format!("{file}:{line}"),
        reason: reason.into(),
    }
}

impl Samples {
    /// Samples from rows of ±1 (every row of length `n`); column names `s0…`.
    pub fn from_rows<'a>(n: usize, rows: impl IntoIterator<Item = &'a [i8]>) -> Result<Samples> {
        let mut spins = Vec::new();
        for (k, r) in rows.into_iter().enumerate() {
            if r.len() != n || r.iter().any(|&x| x != 1 && x != -1) {
                return Err(Error::arg(format!(
                    "sample {k}: need {n} values of ±1, got {r:?}"
                )));
            }
            spins.extend_from_slice(r);
        }
        let mut s = Samples {
            n,
            spins,
            names: (0..n).map(|i| format!("s{i}")).collect(),
            notes: vec![],
        };
        s.check()?;
        Ok(s)
    }

    /// Parse CSV text (see the module docs); `file` names the source in `file:line` errors.
    pub fn parse_csv(file: &str, text: &str) -> Result<Samples> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(k, l)| (k + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .peekable();
        let Some(&(first_no, first)) = lines.peek() else {
            return Err(parse_err(file, 1, "empty file: no header and no samples"));
        };
        let cells: Vec<&str> = first.split(',').map(str::trim).collect();
        let is_header = cells.iter().any(|c| c.parse::<i64>().is_err());
        let names: Vec<String> = if is_header {
            lines.next();
            let mut seen = HashSet::new();
            for c in &cells {
                if c.is_empty() {
                    return Err(parse_err(file, first_no, "empty column name in the header"));
                }
                if !seen.insert(*c) {
                    return Err(parse_err(
                        file,
                        first_no,
                        format!("duplicate column name '{c}' in the header"),
                    ));
                }
            }
            cells.iter().map(|c| c.to_string()).collect()
        } else {
            (0..cells.len()).map(|i| format!("s{i}")).collect()
        };
        let n = names.len();
        let mut spins: Vec<i8> = Vec::with_capacity(text.len() / 2);
        // The encoding is decided by the data: a −1 anywhere means ±1, else 0/1.
        let (mut first_minus, mut first_zero) = (None, None);
        for (no, line) in lines {
            let mut count = 0;
            for (k, c) in line.split(',').enumerate() {
                count += 1;
                if k >= n {
                    continue;
                }
                let v: i8 = match c.trim() {
                    "1" | "+1" => 1,
                    "-1" => {
                        first_minus.get_or_insert(no);
                        -1
                    }
                    "0" => {
                        first_zero.get_or_insert(no);
                        -1
                    }
                    other => {
                        return Err(parse_err(
                            file,
                            no,
                            format!("column '{}': value '{other}' is not -1/1 or 0/1", names[k]),
                        ))
                    }
                };
                spins.push(v);
            }
            if count != n {
                return Err(parse_err(
                    file,
                    no,
                    format!("{count} values, but the header has {n} columns"),
                ));
            }
        }
        if let (Some(a), Some(b)) = (first_minus, first_zero) {
            return Err(parse_err(
                file,
                a.max(b),
                format!("the file mixes -1 (line {a}) and 0 (line {b}): use either -1/1 or 0/1"),
            ));
        }
        if spins.is_empty() {
            return Err(parse_err(file, first_no, "no samples after the header"));
        }
        let mut s = Samples {
            n,
            spins,
            names,
            notes: vec![],
        };
        s.check()?;
        Ok(s)
    }

    /// Read a CSV file (see [`Samples::parse_csv`]).
    pub fn read_csv(path: &Path) -> Result<Samples> {
        Samples::parse_csv(&path.display().to_string(), &crate::io::read_text(path)?)
    }

    /// Notes on the data; an error when there are no spins or no samples.
    fn check(&mut self) -> Result<()> {
        if self.n == 0 || self.spins.is_empty() {
            return Err(Error::arg("need at least one spin and one sample"));
        }
        let m = self.len();
        if m <= self.n {
            self.notes.push(format!(
                "{m} samples for {} spins: the covariance matrix is singular; regularise \
                 (--l2) or collect more samples",
                self.n
            ));
        }
        for i in self.constant_columns() {
            let v = self.spins[i];
            self.notes.push(format!(
                "column '{}' never changes (always {}): its field is clamped to \
                 atanh({}(1 − 1/M)) and its couplings to 0",
                self.names[i],
                if v > 0 { "+1" } else { "-1" },
                if v > 0 { "" } else { "−" },
            ));
        }
        Ok(())
    }

    /// Number of spins N.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Number of samples M.
    pub fn len(&self) -> usize {
        self.spins.len() / self.n.max(1)
    }
    /// Whether there are no samples (never true for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.spins.is_empty()
    }
    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Sample μ (N values of ±1).
    pub fn row(&self, mu: usize) -> &[i8] {
        &self.spins[mu * self.n..(mu + 1) * self.n]
    }
    /// All samples, row-major.
    pub fn raw(&self) -> &[i8] {
        &self.spins
    }
    /// Every sample, in order.
    pub fn rows(&self) -> impl Iterator<Item = &[i8]> + '_ {
        self.spins.chunks_exact(self.n)
    }
    /// Columns whose value never changes (their field would run to ±∞).
    pub fn constant_columns(&self) -> Vec<usize> {
        let first = self.row(0);
        let mut varies = vec![false; self.n];
        for r in self.rows() {
            for ((v, &a), &b) in varies.iter_mut().zip(r).zip(first) {
                *v |= a != b;
            }
        }
        (0..self.n).filter(|&i| !varies[i]).collect()
    }
    /// Samples μ with `keep(μ)` (e.g. a train / test split).
    pub fn select(&self, keep: impl Fn(usize) -> bool) -> Result<Samples> {
        let rows: Vec<&[i8]> = self
            .rows()
            .enumerate()
            .filter(|(k, _)| keep(*k))
            .map(|(_, r)| r)
            .collect();
        Samples::from_rows(self.n, rows)
    }

    /// First and second moments ⟨s_i⟩ and ⟨s_i s_j⟩ (the diagonal of the latter is 1).
    pub fn moments(&self) -> Moments {
        let (n, m) = (self.n, self.len());
        // ⟨s_i s_j⟩ = SᵀS / M by matrix products over chunks of rows (each chunk as f64).
        const CHUNK: usize = 1024;
        let mut second = DMatrix::<f64>::zeros(n, n);
        let mut mean = vec![0.0; n];
        for chunk in self.spins.chunks(CHUNK * n) {
            let rows = chunk.len() / n;
            let x = DMatrix::<f64>::from_fn(rows, n, |r, c| chunk[r * n + c] as f64);
            second.gemm_tr(1.0, &x, &x, 1.0);
            for r in 0..rows {
                for (a, &v) in mean.iter_mut().zip(&chunk[r * n..(r + 1) * n]) {
                    *a += v as f64;
                }
            }
        }
        second /= m as f64;
        mean.iter_mut().for_each(|a| *a /= m as f64);
        Moments {
            mean,
            second,
            samples: m,
        }
    }
}

/// Empirical moments of a sample.
#[derive(Debug, Clone)]
pub struct Moments {
    /// ⟨s_i⟩.
    pub mean: Vec<f64>,
    /// ⟨s_i s_j⟩ (N × N, unit diagonal).
    pub second: DMatrix<f64>,
    /// Number of samples M they come from.
    pub samples: usize,
}

impl Moments {
    /// The largest |⟨s_i⟩| a finite field can produce from M samples: 1 − 1/M (a column
    /// that never changes is treated as if one sample in M had flipped it).
    pub fn clamp(&self) -> f64 {
        1.0 - 1.0 / self.samples.max(2) as f64
    }
    /// ⟨s_i⟩ clamped to ±(1 − 1/M).
    pub fn clamped_mean(&self) -> Vec<f64> {
        let c = self.clamp();
        self.mean.iter().map(|m| m.clamp(-c, c)).collect()
    }
    /// The connected correlation matrix C_ij = ⟨s_i s_j⟩ − ⟨s_i⟩⟨s_j⟩ with clamped means (so
    /// a constant column has variance 1 − (1 − 1/M)² > 0 and no covariance).
    pub fn covariance(&self) -> DMatrix<f64> {
        let m = self.clamped_mean();
        let n = m.len();
        DMatrix::from_fn(n, n, |i, j| {
            if i == j {
                1.0 - m[i] * m[i]
            } else {
                self.second[(i, j)] - self.mean[i] * self.mean[j]
            }
        })
    }
}

/// Write configurations as CSV: a header `s0,…,s{N-1}`, then one line of −1/1 per configuration.
pub fn write_csv<'a, W: Write>(
    mut w: W,
    n: usize,
    rows: impl IntoIterator<Item = &'a [i8]>,
) -> std::io::Result<()> {
    let header: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    writeln!(w, "{}", header.join(","))?;
    let mut line = String::with_capacity(3 * n);
    for r in rows {
        line.clear();
        for (k, &v) in r.iter().enumerate() {
            if k > 0 {
                line.push(',');
            }
            line.push_str(if v > 0 { "1" } else { "-1" });
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    w.flush()
}
