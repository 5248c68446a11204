//! The UAI inference-competition format (`MARKOV` / `BAYES` networks) for binary pairwise models.
//!
//! A file is whitespace-separated tokens: the network type, N, N domain sizes, F, F scopes
//! `k v1 … vk`, then F tables `T x_1 … x_T`, row-major with the *last* scope variable changing
//! fastest. State 0 ↦ s = −1, state 1 ↦ s = +1. A strictly positive table over one or two binary
//! variables converts exactly to Ising form: with L = ln T,
//!   L(x_a, x_b) = c + u_a s_a + u_b s_b + w s_a s_b,
//!   c = ¼ΣL, u_a = ¼(L10+L11−L00−L01), u_b = ¼(L01+L11−L00−L10), w = ¼(L00+L11−L01−L10).
//! The model is built at β = 1 with J = Σw, h = Σu and energy offset E₀ = −Σc, so that
//! ln Z(model) = ln Z(file); `--beta b` rescales every log-table (T ↦ T^b).
//!
//! Files are streamed token by token (a multi-gigabyte file is never held in memory), and the
//! declared counts are checked against the memory budget before anything of their size is
//! allocated.

use super::{read_text, LoadedModel};
use crate::error::{Error, Result};
use crate::limits;
use crate::model::Model;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

/// Largest variable / factor count accepted from a file (guards allocations).
const MAX_VARS: usize = 10_000_000;
const MAX_FACTORS: usize = 50_000_000;
/// Longest token accepted (a number needs a few dozen characters; this stops a file of one
/// endless token from filling memory).
const MAX_TOKEN: usize = 1024;
/// Bytes held per declared variable and per declared factor while parsing and building the
/// model (scope 12, pair map ≤ 64, order 16, edge and coupling lists 24, the model's 56 per
/// edge; fields, clamps and index maps per variable), used to check the declared sizes against
/// the memory budget before anything of that size is allocated.
const BYTES_PER_VAR: f64 = 80.0;
const BYTES_PER_FACTOR: f64 = 180.0;

/// Whitespace-separated tokens streamed from a reader, with the line of each: the file is never
/// held in memory whole, and no token may exceed [`MAX_TOKEN`] bytes.
struct Tokens<'a, R: BufRead> {
    file: &'a str,
    r: R,
    /// Line the reader is on (1-based).
    line: usize,
    /// Line of the last token returned.
    tok_line: usize,
    tok: Vec<u8>,
    /// A token pushed back by [`Tokens::peek`].
    peeked: bool,
}

impl<'a, R: BufRead> Tokens<'a, R> {
    fn new(file: &'a str, r: R) -> Self {
        Tokens {
            file,
            r,
            line: 1,
            tok_line: 1,
            tok: Vec::new(),
            peeked: false,
        }
    }
    fn err(&self, reason: impl Into<String>) -> Error {
        Error::Parse {
            place: format!("{}:{}", self.file, self.tok_line),
            reason: reason.into(),
        }
    }
    /// The next token, or None at the end of the input.
    fn raw(&mut self) -> Result<Option<&str>> {
        if self.peeked {
            self.peeked = false;
            return self.current().map(Some);
        }
        self.tok.clear();
        loop {
            let buf = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::Io {
                        path: self.file.to_string(),
                        reason: e.to_string(),
                    })
                }
            };
            if buf.is_empty() {
                break;
            }
            let mut used = 0;
            let (mut done, mut too_long) = (false, false);
            for &c in buf {
                if c.is_ascii_whitespace() {
                    if !self.tok.is_empty() {
                        done = true;
                        break;
                    }
                    if c == b'\n' {
                        self.line += 1;
                    }
                } else {
                    if self.tok.is_empty() {
                        self.tok_line = self.line;
                    }
                    if self.tok.len() >= MAX_TOKEN {
                        too_long = true;
                        break;
                    }
                    self.tok.push(c);
                }
                used += 1;
            }
            self.r.consume(used);
            if too_long {
                return Err(self.err(format!("a token longer than {MAX_TOKEN} characters")));
            }
            if done {
                break;
            }
        }
        if self.tok.is_empty() {
            Ok(None)
        } else {
            self.current().map(Some)
        }
    }
    fn current(&self) -> Result<&str> {
        std::str::from_utf8(&self.tok).map_err(|_| self.err("not UTF-8 text"))
    }
    /// Push the last token back (it is returned again by the next call).
    fn unread(&mut self) {
        self.peeked = true;
    }
    fn next(&mut self, what: &str) -> Result<&str> {
        if self.raw()?.is_none() {
            return Err(self.err(format!("unexpected end of file: expected {what}")));
        }
        self.current()
    }
    fn usize(&mut self, what: &str, max: usize) -> Result<usize> {
        let parsed = self.next(what)?.parse::<i64>();
        let v = parsed.map_err(|_| {
            self.err(format!(
                "expected {what} (a whole number), found '{}'",
                String::from_utf8_lossy(&self.tok)
            ))
        })?;
        if v < 0 {
            return Err(self.err(format!("{what} is negative ({v})")));
        }
        if v as u64 > max as u64 {
            return Err(self.err(format!("{what} = {v} exceeds the limit {max}")));
        }
        Ok(v as usize)
    }
    fn f64(&mut self, what: &str) -> Result<f64> {
        let parsed = self.next(what)?.parse::<f64>();
        parsed.map_err(|_| {
            self.err(format!(
                "expected {what}, found '{}'",
                String::from_utf8_lossy(&self.tok)
            ))
        })
    }
}

/// Parse UAI text into a model (β = 1); `file` names the source in errors.
pub fn parse(file: &str, text: &str, evidence: &[(usize, usize)]) -> Result<LoadedModel> {
    parse_reader(file, text.as_bytes(), evidence)
}

/// Parse a UAI model streamed from `r` (β = 1): tokens are read one at a time, and the declared
/// numbers of variables and factors are checked against the memory budget
/// ([`crate::limits`]) before anything of their size is allocated.
pub fn parse_reader<R: BufRead>(
    file: &str,
    r: R,
    evidence: &[(usize, usize)],
) -> Result<LoadedModel> {
    let mut tk = Tokens::new(file, r);
    let kind = tk.next("the network type (MARKOV)")?.to_string();
    if !kind.eq_ignore_ascii_case("MARKOV") && !kind.eq_ignore_ascii_case("BAYES") {
        return Err(tk.err(format!("expected MARKOV or BAYES, found '{kind}'")));
    }
    let n = tk.usize("the number of variables", MAX_VARS)?;
    limits::check_memory(
        "uai",
        &format!("{file}: {n} variables"),
        BYTES_PER_VAR * n as f64,
    )?;
    for v in 0..n {
        let d = tk.usize(&format!("the domain size of variable {v}"), usize::MAX >> 1)?;
        if d != 2 {
            return Err(tk.err(format!(
                "variable {v} has domain size {d}; logz handles binary (domain 2) variables only"
            )));
        }
    }
    let f = tk.usize("the number of factors", MAX_FACTORS)?;
    limits::check_memory(
        "uai",
        &format!("{file}: {n} variables and {f} factors"),
        BYTES_PER_VAR * n as f64 + BYTES_PER_FACTOR * f as f64,
    )?;
    // Scopes: arity and up to two variables (n ≤ MAX_VARS fits in u32). Capacity grows with
    // the factors actually read, not with the declared count.
    let mut scopes: Vec<(u8, [u32; 2])> = Vec::with_capacity(f.min(1 << 16));
    for k in 0..f {
        let arity = tk.usize(&format!("the arity of factor {k}"), usize::MAX >> 1)?;
        if arity > 2 {
            return Err(tk.err(format!(
                "factor {k} has arity {arity}; logz handles factors over at most two variables"
            )));
        }
        let mut sc = [0u32; 2];
        for slot in sc.iter_mut().take(arity) {
            let v = tk.usize(&format!("a variable of factor {k}"), usize::MAX >> 1)?;
            if v >= n {
                return Err(tk.err(format!(
                    "factor {k} names variable {v}, but there are only {n}"
                )));
            }
            *slot = v as u32;
        }
        scopes.push((arity as u8, sc));
    }
    // Accumulate the Ising form.
    let mut h = vec![0.0; n];
    let mut c_total = 0.0;
    let mut pair: HashMap<(usize, usize), f64> = HashMap::new();
    let mut order: Vec<(usize, usize)> = Vec::new();
    for (k, &(arity, sc)) in scopes.iter().enumerate() {
        let arity = arity as usize;
        let sc = [sc[0] as usize, sc[1] as usize];
        let expect = 1usize << arity;
        let t = tk.usize(&format!("the table size of factor {k}"), usize::MAX >> 1)?;
        if t != expect {
            return Err(tk.err(format!(
                "factor {k} has {arity} binary variables, so its table needs {expect} entries, not {t}"
            )));
        }
        let mut l = [0.0f64; 4];
        for (x, slot) in l.iter_mut().enumerate().take(expect) {
            let v = tk.f64(&format!("entry {x} of table {k}"))?;
            if !v.is_finite() || v <= 0.0 {
                return Err(tk.err(format!(
                    "entry {x} of table {k} is {v}; logz needs strictly positive finite entries \
                     (zeros are hard constraints, which an Ising model cannot express)"
                )));
            }
            *slot = v.ln();
        }
        match arity {
            0 => c_total += l[0],
            1 => {
                c_total += 0.5 * (l[0] + l[1]);
                h[sc[0]] += 0.5 * (l[1] - l[0]);
            }
            _ => {
                let (a, b) = (sc[0], sc[1]);
                if a == b {
                    // A repeated variable only sees the diagonal T[x, x].
                    c_total += 0.5 * (l[0] + l[3]);
                    h[a] += 0.5 * (l[3] - l[0]);
                    continue;
                }
                c_total += 0.25 * (l[0] + l[1] + l[2] + l[3]);
                h[a] += 0.25 * (l[2] + l[3] - l[0] - l[1]);
                h[b] += 0.25 * (l[1] + l[3] - l[0] - l[2]);
                let w = 0.25 * (l[0] + l[3] - l[1] - l[2]);
                let key = (a.min(b), a.max(b));
                match pair.get_mut(&key) {
                    Some(j) => *j += w,
                    None => {
                        pair.insert(key, w);
                        order.push(key);
                    }
                }
            }
        }
    }
    drop(scopes);
    if let Some(t) = tk.raw()?.map(str::to_string) {
        return Err(tk.err(format!("unexpected extra token '{t}' after the last table")));
    }
    if !c_total.is_finite() || h.iter().any(|x| !x.is_finite()) {
        return Err(tk.err(
            "the log-tables sum to a non-finite constant or field (entries too large or too small)",
        ));
    }
    // Clamp evidence: fold clamped spins into neighbours' fields and the constant.
    let mut clamp: Vec<Option<i8>> = vec![None; n];
    for &(v, x) in evidence {
        if v >= n || x > 1 {
            return Err(Error::Parse {
                place: format!("{file}.evid"),
                reason: format!(
                    "evidence ({v}, {x}) is outside the model (n = {n}, binary states)"
                ),
            });
        }
        clamp[v] = Some(if x == 1 { 1 } else { -1 });
    }
    let mut kept = Vec::new();
    let mut new_index = vec![usize::MAX; n];
    for v in 0..n {
        if clamp[v].is_none() {
            new_index[v] = kept.len();
            kept.push(v);
        }
    }
    let mut log_const = c_total;
    let mut field: Vec<f64> = kept.iter().map(|&v| h[v]).collect();
    for v in 0..n {
        if let Some(s) = clamp[v] {
            log_const += h[v] * s as f64;
        }
    }
    let mut edges = Vec::with_capacity(order.len());
    let mut js = Vec::with_capacity(order.len());
    for key in order {
        let w = pair[&key];
        match (clamp[key.0], clamp[key.1]) {
            (None, None) => {
                edges.push((new_index[key.0], new_index[key.1]));
                js.push(w);
            }
            (Some(sa), None) => field[new_index[key.1]] += w * sa as f64,
            (None, Some(sb)) => field[new_index[key.0]] += w * sb as f64,
            (Some(sa), Some(sb)) => log_const += w * (sa * sb) as f64,
        }
    }
    drop(pair);
    let place = |e: Error| match e {
        Error::InvalidModel(reason) => Error::Parse {
            place: file.to_string(),
            reason,
        },
        e => e,
    };
    let model = Model::new(kept.len(), &edges, &js, field, 1.0)
        .and_then(|m| m.with_energy_offset(-log_const))
        .map_err(place)?;
    let clamped = (0..n).filter_map(|v| clamp[v].map(|s| (v, s))).collect();
    Ok(LoadedModel {
        model,
        n_original: n,
        kept,
        clamped,
    })
}

/// Parse a `.evid` file: `E v1 x1 …` (a lone `0` means no evidence).
pub fn parse_evidence(file: &str, text: &str) -> Result<Vec<(usize, usize)>> {
    let mut tk = Tokens::new(file, text.as_bytes());
    if tk.raw()?.is_none() {
        return Ok(vec![]);
    }
    tk.unread();
    let e = tk.usize("the number of evidence variables", MAX_VARS)?;
    // Capacity follows the pairs actually read, not the declared count.
    let mut out = Vec::with_capacity(e.min(1 << 16));
    for _ in 0..e {
        let v = tk.usize("an evidence variable", usize::MAX >> 1)?;
        let x = tk.usize("an evidence state", 1)?;
        out.push((v, x));
    }
    if let Some(t) = tk.raw()?.map(str::to_string) {
        return Err(tk.err(format!(
            "unexpected extra token '{t}' after {e} evidence pairs"
        )));
    }
    Ok(out)
}

/// Read a `.uai` file (streamed: never held in memory whole), and its evidence from `evid`
/// (or `FILE.evid` beside it if that exists). A file larger than the memory budget is refused
/// up front: the model it describes would not fit either.
pub fn read_file(path: &Path, evid: Option<&Path>) -> Result<LoadedModel> {
    let name = path.display().to_string();
    let io = |e: std::io::Error| Error::Io {
        path: name.clone(),
        reason: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(Error::Io {
            path: name.clone(),
            reason: "is a directory".into(),
        });
    }
    limits::check_memory(
        "uai",
        &format!("{name}: a file of {} bytes", meta.len()),
        meta.len() as f64,
    )?;
    let auto = path.with_file_name(format!(
        "{}.evid",
        path.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let ev_path = match evid {
        Some(p) => Some(p.to_path_buf()),
        None if auto.exists() => Some(auto),
        None => None,
    };
    let evidence = match ev_path {
        Some(p) => parse_evidence(&p.display().to_string(), &read_text(&p)?)?,
        None => vec![],
    };
    let file = std::fs::File::open(path).map_err(io)?;
    parse_reader(
        &name,
        std::io::BufReader::with_capacity(1 << 16, file),
        &evidence,
    )
}

/// Write a model as a UAI `MARKOV` file whose Z equals the model's Z at its β.
///
/// Each spin gets a unary table and each edge a pairwise table, holding exp(θ·φ) shifted so the
/// largest entry is 1; the constant that removes (plus −βE₀) is spread evenly over the tables.
pub fn write(m: &Model) -> String {
    use std::fmt::Write;
    let b = m.beta();
    let nf = m.n() + m.num_edges();
    let mut out = String::new();
    let _ = writeln!(out, "MARKOV\n{}", m.n());
    let _ = writeln!(out, "{}", vec!["2"; m.n()].join(" "));
    let _ = writeln!(out, "{nf}");
    for i in 0..m.n() {
        let _ = writeln!(out, "1 {i}");
    }
    for &(a, c) in m.edges() {
        let _ = writeln!(out, "2 {a} {c}");
    }
    // Log-tables: unary [−θ, θ], pairwise [θ, −θ, −θ, θ]; shifted by their max |θ|.
    let mut shift_total = -b * m.energy_offset();
    let unary: Vec<f64> = m.fields().iter().map(|h| b * h).collect();
    let pairw: Vec<f64> = m.couplings().iter().map(|j| b * j).collect();
    shift_total += unary
        .iter()
        .chain(pairw.iter())
        .map(|t| t.abs())
        .sum::<f64>();
    let share = if nf > 0 { shift_total / nf as f64 } else { 0.0 };
    let fmt = |x: f64| format!("{:e}", x);
    out.push('\n');
    for t in &unary {
        let a = t.abs();
        let _ = writeln!(
            out,
            "2\n {} {}",
            fmt((-t - a + share).exp()),
            fmt((t - a + share).exp())
        );
    }
    for t in &pairw {
        let a = t.abs();
        let (p, q) = (fmt((t - a + share).exp()), fmt((-t - a + share).exp()));
        let _ = writeln!(out, "4\n {p} {q}\n {q} {p}");
    }
    out
}
