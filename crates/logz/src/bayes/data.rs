//! Regression data: CSV reading (in memory or streamed in chunks), one-pass sufficient
//! statistics, standardisation, and the synthetic age → income generator.
//!
//! Models are fitted in standardised coordinates x̃_j = (x_j − x̄_j)/s_j, ỹ = (y − ȳ)/s_y
//! (population standard deviations), which makes one weakly-informative prior sensible for any
//! units and keeps stochastic optimisation well conditioned. The constants are part of the model
//! definition and are computed from the data in one pass — with Chan's pairwise update of means
//! and co-moments, which is stable for 10⁸ rows where raw sums of squares would cancel.

use crate::error::{Error, Result};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// A regression data set in memory: `x` is row-major n × p (raw units), `y` has n entries.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Names of the p x columns.
    pub x_names: Vec<String>,
    /// Name of the y column.
    pub y_name: String,
    /// The x values, row-major n × p, raw units.
    pub x: Vec<f64>,
    /// The responses, n entries, raw units.
    pub y: Vec<f64>,
}

impl Dataset {
    /// Number of rows n.
    pub fn n(&self) -> usize {
        self.y.len()
    }
    /// Number of x columns p.
    pub fn p(&self) -> usize {
        self.x_names.len()
    }
    /// The sufficient statistics of all rows, in one sequential pass.
    pub fn stats(&self) -> SuffStats {
        let mut s = SuffStats::new(self.p());
        for (row, &y) in self.x.chunks_exact(self.p()).zip(&self.y) {
            s.push(row, y);
        }
        s
    }
    /// [`Dataset::stats`] computed in parallel: blocks of 2¹⁶ rows each get their own statistics,
    /// which are merged pairwise (Chan's update is exact in any order, up to rounding).
    pub fn par_stats(&self) -> SuffStats {
        use rayon::prelude::*;
        let p = self.p();
        self.y
            .par_chunks(PAR_BLOCK)
            .zip(self.x.par_chunks(p * PAR_BLOCK))
            .map(|(y, x)| {
                let mut s = SuffStats::new(p);
                for (r, v) in x.chunks_exact(p).zip(y) {
                    s.push(r, *v);
                }
                s
            })
            .reduce(
                || SuffStats::new(p),
                |mut a, b| {
                    a.merge(&b);
                    a
                },
            )
    }
    /// Statistics of `rows` rows drawn uniformly with replacement (seeded): standardisation
    /// constants without a pass over the data. Empty data gives empty statistics.
    pub fn subsample_stats(&self, rows: usize, seed: u64) -> SuffStats {
        let p = self.p();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut s = SuffStats::new(p);
        if self.n() == 0 {
            return s;
        }
        for _ in 0..rows {
            let i = crate::rng::index(&mut rng, self.n());
            s.push(&self.x[i * p..(i + 1) * p], self.y[i]);
        }
        s
    }
}

/// Rows per block of [`Dataset::par_stats`].
const PAR_BLOCK: usize = 1 << 16;

/// Means and co-moments of (x, y), merged pairwise (Chan, Golub & LeVeque).
#[derive(Debug, Clone)]
pub struct SuffStats {
    /// Number of rows.
    pub n: f64,
    /// Column means x̄_j.
    pub mean_x: Vec<f64>,
    /// Mean ȳ of the responses.
    pub mean_y: f64,
    /// Σ (x_j − x̄_j)(x_k − x̄_k), row-major p × p.
    pub cxx: Vec<f64>,
    /// Σ (x_j − x̄_j)(y − ȳ).
    pub cxy: Vec<f64>,
    /// Σ (y − ȳ)².
    pub cyy: f64,
}

impl SuffStats {
    /// Empty statistics (no rows) for p x columns.
    pub fn new(p: usize) -> Self {
        SuffStats {
            n: 0.0,
            mean_x: vec![0.0; p],
            mean_y: 0.0,
            cxx: vec![0.0; p * p],
            cxy: vec![0.0; p],
            cyy: 0.0,
        }
    }
    /// Number of x columns p.
    pub fn p(&self) -> usize {
        self.mean_x.len()
    }
    /// Add one row (Welford): with d = (x, y) − mean before the update, the means move by d/n
    /// and the co-moments gain (n − 1)/n · d dᵀ.
    pub fn push(&mut self, x: &[f64], y: f64) {
        let p = self.p();
        // The deviations live on the stack for the usual handful of columns.
        let mut small = [0.0f64; 64];
        let mut large = Vec::new();
        let dx: &mut [f64] = if p <= small.len() {
            &mut small[..p]
        } else {
            large.resize(p, 0.0);
            &mut large
        };
        self.n += 1.0;
        let n = self.n;
        let dy = y - self.mean_y;
        for j in 0..p {
            dx[j] = x[j] - self.mean_x[j];
            self.mean_x[j] += dx[j] / n;
        }
        self.mean_y += dy / n;
        let f = (n - 1.0) / n;
        for j in 0..p {
            let fj = f * dx[j];
            for (c, &dk) in self.cxx[j * p..(j + 1) * p].iter_mut().zip(dx.iter()) {
                *c += fj * dk;
            }
            self.cxy[j] += fj * dy;
        }
        self.cyy += f * dy * dy;
    }
    /// Merge another block of rows.
    pub fn merge(&mut self, o: &SuffStats) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = o.clone();
            return;
        }
        let p = self.p();
        let n = self.n + o.n;
        let w = self.n * o.n / n;
        let dx: Vec<f64> = (0..p).map(|j| o.mean_x[j] - self.mean_x[j]).collect();
        let dy = o.mean_y - self.mean_y;
        for j in 0..p {
            for k in 0..p {
                self.cxx[j * p + k] += o.cxx[j * p + k] + w * dx[j] * dx[k];
            }
            self.cxy[j] += o.cxy[j] + w * dx[j] * dy;
            self.mean_x[j] += dx[j] * o.n / n;
        }
        self.cyy += o.cyy + w * dy * dy;
        self.mean_y += dy * o.n / n;
        self.n = n;
    }
    /// The standardisation constants (population standard deviations), checking for constants.
    pub fn scaling(&self, x_names: &[String], y_name: &str) -> Result<Scaling> {
        if self.n < 2.0 {
            return Err(Error::InvalidArgument(format!(
                "need at least 2 data rows, got {}",
                self.n
            )));
        }
        let p = self.p();
        let sd_x: Vec<f64> = (0..p)
            .map(|j| (self.cxx[j * p + j] / self.n).sqrt())
            .collect();
        for (j, s) in sd_x.iter().enumerate() {
            if *s <= 0.0 || !s.is_finite() {
                return Err(Error::InvalidArgument(format!(
                    "column '{}' is constant: its coefficient is not identifiable",
                    x_names[j]
                )));
            }
        }
        let sd_y = (self.cyy / self.n).sqrt();
        if sd_y <= 0.0 || !sd_y.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "column '{y_name}' is constant"
            )));
        }
        Ok(Scaling {
            mean_x: self.mean_x.clone(),
            sd_x,
            mean_y: self.mean_y,
            sd_y,
        })
    }
}

/// x̃ = (x − mean_x)/sd_x, ỹ = (y − mean_y)/sd_y.
#[derive(Debug, Clone)]
pub struct Scaling {
    /// Column means x̄_j.
    pub mean_x: Vec<f64>,
    /// Column population standard deviations s_j (all > 0).
    pub sd_x: Vec<f64>,
    /// Mean ȳ of the responses.
    pub mean_y: f64,
    /// Population standard deviation s_y of the responses (> 0).
    pub sd_y: f64,
}

impl Scaling {
    /// The design matrix in standardised units with a leading intercept column (n × (p+1)),
    /// and the standardised response.
    pub fn design(&self, d: &Dataset) -> (Vec<f64>, Vec<f64>) {
        let p = d.p();
        let mut xs = Vec::with_capacity(d.n() * (p + 1));
        for row in d.x.chunks_exact(p) {
            xs.push(1.0);
            for j in 0..p {
                xs.push((row[j] - self.mean_x[j]) / self.sd_x[j]);
            }
        }
        let ys = d.y.iter().map(|y| (y - self.mean_y) / self.sd_y).collect();
        (xs, ys)
    }
    /// Map standardised coefficients (intercept first) to raw units: slope_j = w_j s_y/s_j,
    /// intercept = ȳ + s_y(w_0 − Σ_j w_j x̄_j/s_j). Returns the matrix A and offset b with
    /// w_raw = A w + b, so that means map as A m + b and covariances as A Σ Aᵀ.
    pub fn to_raw(&self) -> (Vec<f64>, Vec<f64>) {
        let p = self.sd_x.len();
        let d = p + 1;
        let mut a = vec![0.0; d * d];
        let mut b = vec![0.0; d];
        a[0] = self.sd_y;
        for j in 0..p {
            a[j + 1] = -self.sd_y * self.mean_x[j] / self.sd_x[j];
            a[(j + 1) * d + j + 1] = self.sd_y / self.sd_x[j];
        }
        b[0] = self.mean_y;
        (a, b)
    }
}

fn parse_err(path: &Path, line: usize, reason: String) -> Error {
    Error::Parse {
        place: format!("{}:{line}", path.display()),
        reason,
    }
}

/// Column indices of the requested x columns and the y column in a CSV header.
fn columns(
    path: &Path,
    header: &str,
    xs: &[String],
    y: &str,
) -> Result<(Vec<usize>, usize, usize)> {
    let cols: Vec<&str> = header.split(',').map(|c| c.trim()).collect();
    let find = |name: &str| {
        cols.iter().position(|c| *c == name).ok_or_else(|| {
            parse_err(
                path,
                1,
                format!("no column '{name}' (columns: {})", cols.join(", ")),
            )
        })
    };
    let xi = xs.iter().map(|x| find(x)).collect::<Result<Vec<_>>>()?;
    Ok((xi, find(y)?, cols.len()))
}

fn parse_cell(path: &Path, line: usize, name: &str, cell: &str) -> Result<f64> {
    let v: f64 = cell.trim().parse().map_err(|_| {
        parse_err(
            path,
            line,
            format!("column '{name}': '{}' is not a number", cell.trim()),
        )
    })?;
    if !v.is_finite() {
        return Err(parse_err(path, line, format!("column '{name}' is {v}")));
    }
    Ok(v)
}

/// Longest CSV line accepted (a row of numbers needs far less; this stops a file without line
/// breaks from being read into memory whole).
pub const MAX_LINE: usize = 1 << 20;

/// Read one line (up to and excluding '\n') into `buf`; Ok(false) at the end of the input. A
/// line longer than [`MAX_LINE`] bytes is an error, never a buffer of the file's size.
fn read_line_bounded<R: BufRead>(r: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Option<()>> {
    buf.clear();
    let mut any = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(any.then_some(()));
        }
        any = true;
        let (take, done) = match avail.iter().position(|&c| c == b'\n') {
            Some(i) => (i, true),
            None => (avail.len(), false),
        };
        if buf.len() + take > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a line longer than {MAX_LINE} bytes"),
            ));
        }
        buf.extend_from_slice(&avail[..take]);
        r.consume(take + done as usize);
        if done {
            return Ok(Some(()));
        }
    }
}

/// Stream a CSV file in chunks of at most `chunk` rows: memory stays bounded whatever the size.
/// `f` receives (x row-major, y) for each chunk.
pub fn stream_csv(
    path: &Path,
    xs: &[String],
    y: &str,
    chunk: usize,
    f: impl FnMut(&[f64], &[f64]) -> Result<()>,
) -> Result<usize> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    stream_csv_reader(
        &path.display().to_string(),
        BufReader::with_capacity(1 << 20, file),
        xs,
        y,
        chunk,
        f,
    )
}

/// [`stream_csv`] over any buffered reader; `name` names the source in errors. The chunk size
/// is checked against the memory budget ([`crate::limits`]) before anything is allocated: a
/// chunk's rows are held twice (here and, standardised, by the consumer).
pub fn stream_csv_reader<R: BufRead>(
    name: &str,
    mut r: R,
    xs: &[String],
    y: &str,
    chunk: usize,
    mut f: impl FnMut(&[f64], &[f64]) -> Result<()>,
) -> Result<usize> {
    let path = Path::new(name);
    if xs.is_empty() {
        return Err(Error::InvalidArgument("need at least one x column".into()));
    }
    if chunk == 0 {
        return Err(Error::InvalidArgument(
            "the chunk size must be at least 1 row".into(),
        ));
    }
    let p = xs.len();
    crate::limits::check_memory(
        "csv",
        &format!("chunks of {chunk} rows × {} columns", p + 1),
        2.0 * chunk as f64 * 8.0 * (p as f64 + 2.0),
    )?;
    let mut line = Vec::new();
    let io = |e: std::io::Error| Error::Io {
        path: name.to_string(),
        reason: e.to_string(),
    };
    let mut lineno = 1;
    let text = |line: &[u8], lineno: usize| -> Result<String> {
        String::from_utf8(line.to_vec())
            .map_err(|_| parse_err(path, lineno, "not UTF-8 text".into()))
    };
    let header = match read_line_bounded(&mut r, &mut line).map_err(io)? {
        Some(()) => text(&line, 1)?,
        None => String::new(),
    };
    if header.trim().is_empty() {
        return Err(parse_err(
            path,
            1,
            "the file is empty (expected a header line)".into(),
        ));
    }
    let (xi, yi, ncols) = columns(path, header.trim_end(), xs, y)?;
    // Capacity follows the rows actually read (a chunk larger than the file costs nothing).
    let cap = chunk.min(1 << 16);
    let (mut bx, mut by) = (Vec::with_capacity(cap * p), Vec::with_capacity(cap));
    let mut rows = 0;
    // Column → position among the x columns (a column may serve as x and y at once).
    let mut xpos: Vec<Vec<usize>> = vec![Vec::new(); ncols];
    for (k, &c) in xi.iter().enumerate() {
        xpos[c].push(k);
    }
    let mut row = vec![0.0; p];
    while read_line_bounded(&mut r, &mut line).map_err(io)?.is_some() {
        lineno += 1;
        let owned = text(&line, lineno)?;
        let t = owned.trim_end();
        if t.is_empty() {
            continue;
        }
        let mut count = 0;
        let mut yv = 0.0;
        for (ci, cell) in t.split(',').enumerate() {
            count += 1;
            if ci >= ncols {
                continue;
            }
            for &k in &xpos[ci] {
                row[k] = parse_cell(path, lineno, &xs[k], cell)?;
            }
            if ci == yi {
                yv = parse_cell(path, lineno, y, cell)?;
            }
        }
        if count != ncols {
            return Err(parse_err(
                path,
                lineno,
                format!("expected {ncols} cells, found {count}"),
            ));
        }
        bx.extend_from_slice(&row);
        by.push(yv);
        rows += 1;
        if by.len() == chunk {
            f(&bx, &by)?;
            bx.clear();
            by.clear();
        }
    }
    if !by.is_empty() {
        f(&bx, &by)?;
    }
    if rows == 0 {
        return Err(parse_err(
            path,
            lineno,
            "no data rows after the header".into(),
        ));
    }
    Ok(rows)
}

/// Bytes per byte of CSV text held in memory by [`read_csv`] and a fit on it: a number of ≥ 2
/// characters ("1,") becomes 8 B in the data set and 8 B more in the standardised design matrix.
const CSV_BYTES_PER_BYTE: f64 = 8.0;

/// Read a whole CSV file into memory (refused up front if the file is too large for the memory
/// budget; [`stream_csv`] handles any size).
pub fn read_csv(path: &Path, xs: &[String], y: &str) -> Result<Dataset> {
    if let Ok(meta) = std::fs::metadata(path) {
        crate::limits::check_memory(
            "csv",
            &format!(
                "{}: holding a file of {} bytes in memory (streaming fits any size)",
                path.display(),
                meta.len()
            ),
            CSV_BYTES_PER_BYTE * meta.len() as f64,
        )?;
    }
    let mut d = Dataset {
        x_names: xs.to_vec(),
        y_name: y.to_string(),
        x: Vec::new(),
        y: Vec::new(),
    };
    stream_csv(path, xs, y, 1 << 16, |bx, by| {
        d.x.extend_from_slice(bx);
        d.y.extend_from_slice(by);
        Ok(())
    })?;
    Ok(d)
}

/// The generating process of `logz data age-income`, in units a person would expect:
/// age ~ Uniform(18, 80) years, income = 12 000 + 950·age + ε dollars per year with
/// ε ~ N(0, 15 000²). (A caricature — income does not really grow linearly to 80.)
pub const AGE_INCOME: (f64, f64, f64) = (12_000.0, 950.0, 15_000.0);

/// Rows are generated in blocks of 2¹⁶, each from its own stream, so the file writer and the
/// in-memory generator produce the same data for the same seed.
const GEN_BLOCK: usize = 1 << 16;

/// Synthetic age → income data.
pub fn age_income(rows: usize, seed: u64) -> Dataset {
    let mut d = Dataset {
        x_names: vec!["age".into()],
        y_name: "income".into(),
        x: Vec::with_capacity(rows),
        y: Vec::with_capacity(rows),
    };
    let mut k = 0;
    while d.y.len() < rows {
        let b = age_income_block(
            GEN_BLOCK.min(rows - d.y.len()),
            crate::rng::stream_seed(seed, k),
        );
        d.x.extend_from_slice(&b.x);
        d.y.extend_from_slice(&b.y);
        k += 1;
    }
    d
}

fn age_income_block(rows: usize, seed: u64) -> Dataset {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let age = Uniform::new(18.0, 80.0).expect("valid range");
    let noise = Normal::new(0.0, AGE_INCOME.2).expect("valid sd");
    let mut x = Vec::with_capacity(rows);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let a: f64 = age.sample(&mut rng);
        x.push(a);
        y.push(AGE_INCOME.0 + AGE_INCOME.1 * a + noise.sample(&mut rng));
    }
    Dataset {
        x_names: vec!["age".into()],
        y_name: "income".into(),
        x,
        y,
    }
}

/// Write age → income rows straight to a CSV file without holding them in memory.
pub fn write_age_income(path: &Path, rows: usize, seed: u64) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut w =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).map_err(io)?);
    writeln!(w, "age,income").map_err(io)?;
    let mut done = 0;
    let mut k = 0u64;
    while done < rows {
        let b = GEN_BLOCK.min(rows - done);
        let d = age_income_block(b, crate::rng::stream_seed(seed, k));
        for (a, y) in d.x.iter().zip(&d.y) {
            writeln!(w, "{a:.3},{y:.2}").map_err(io)?;
        }
        done += b;
        k += 1;
    }
    w.flush().map_err(io)
}

/// Correlation of the two features of [`correlated`].
pub const CORRELATED_RHO: f64 = 0.95;

/// Synthetic data with a strongly correlated posterior: features x1, x2 standard normal with
/// correlation [`CORRELATED_RHO`], y = 1 + x1 − x2 + N(0, 1). With few rows the posterior of the
/// two slopes has correlation ≈ −ρ, where a mean-field q must choose between the KL answer
/// (too narrow) and covering the mass (too wide) — the test bed of Rényi-α VI.
pub fn correlated(rows: usize, seed: u64) -> Dataset {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let g = Normal::new(0.0, 1.0).expect("valid sd");
    let c = (1.0 - CORRELATED_RHO * CORRELATED_RHO).sqrt();
    let mut d = Dataset {
        x_names: vec!["x1".into(), "x2".into()],
        y_name: "y".into(),
        x: Vec::with_capacity(2 * rows),
        y: Vec::with_capacity(rows),
    };
    for _ in 0..rows {
        let a: f64 = g.sample(&mut rng);
        let b = CORRELATED_RHO * a + c * g.sample(&mut rng);
        d.x.push(a);
        d.x.push(b);
        d.y.push(1.0 + a - b + g.sample(&mut rng));
    }
    d
}

/// Write a data set as CSV (header of the x names then the y name).
pub fn write_csv(path: &Path, d: &Dataset) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut w =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).map_err(io)?);
    writeln!(w, "{},{}", d.x_names.join(","), d.y_name).map_err(io)?;
    let p = d.p();
    for (r, y) in d.x.chunks(p.max(1)).zip(&d.y) {
        for v in r {
            write!(w, "{v},").map_err(io)?;
        }
        writeln!(w, "{y}").map_err(io)?;
    }
    w.flush().map_err(io)
}
