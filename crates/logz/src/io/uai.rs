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

use super::{read_text, LoadedModel};
use crate::error::{Error, Result};
use crate::model::Model;
use std::collections::HashMap;
use std::path::Path;

/// Largest variable / factor count accepted from a file (guards allocations).
const MAX_VARS: usize = 10_000_000;
const MAX_FACTORS: usize = 50_000_000;

struct Tokens<'a> {
    file: &'a str,
    toks: Vec<(&'a str, usize)>, // token and 1-based line
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(file: &'a str, text: &'a str) -> Self {
        let mut toks = Vec::new();
        for (ln, line) in text.lines().enumerate() {
            for t in line.split_whitespace() {
                toks.push((t, ln + 1));
            }
        }
        Tokens { file, toks, pos: 0 }
    }
    fn place(&self) -> String {
        let line = match self.toks.get(self.pos) {
            Some(&(_, l)) => l,
            None => self.toks.last().map(|t| t.1).unwrap_or(1),
        };
        format!("{}:{}", self.file, line)
    }
    fn err(&self, reason: impl Into<String>) -> Error {
        Error::Parse {
            place: self.place(),
            reason: reason.into(),
        }
    }
    fn next(&mut self, what: &str) -> Result<&'a str> {
        match self.toks.get(self.pos) {
            Some(&(t, _)) => {
                self.pos += 1;
                Ok(t)
            }
            None => Err(self.err(format!("unexpected end of file: expected {what}"))),
        }
    }
    fn usize(&mut self, what: &str, max: usize) -> Result<usize> {
        let t = self.next(what)?;
        self.pos -= 1;
        let v: i64 = t
            .parse()
            .map_err(|_| self.err(format!("expected {what} (a whole number), found '{t}'")))?;
        if v < 0 {
            return Err(self.err(format!("{what} is negative ({v})")));
        }
        if v as u64 > max as u64 {
            return Err(self.err(format!("{what} = {v} exceeds the limit {max}")));
        }
        self.pos += 1;
        Ok(v as usize)
    }
    fn f64(&mut self, what: &str) -> Result<f64> {
        let t = self.next(what)?;
        self.pos -= 1;
        let v: f64 = t
            .parse()
            .map_err(|_| self.err(format!("expected {what}, found '{t}'")))?;
        self.pos += 1;
        Ok(v)
    }
}

/// Parse UAI text into a model (β = 1); `file` names the source in errors.
pub fn parse(file: &str, text: &str, evidence: &[(usize, usize)]) -> Result<LoadedModel> {
    let mut tk = Tokens::new(file, text);
    let kind = tk.next("the network type (MARKOV)")?;
    if !kind.eq_ignore_ascii_case("MARKOV") && !kind.eq_ignore_ascii_case("BAYES") {
        tk.pos -= 1;
        return Err(tk.err(format!("expected MARKOV or BAYES, found '{kind}'")));
    }
    let n = tk.usize("the number of variables", MAX_VARS)?;
    for v in 0..n {
        let d = tk.usize(&format!("the domain size of variable {v}"), usize::MAX >> 1)?;
        if d != 2 {
            tk.pos -= 1;
            return Err(tk.err(format!(
                "variable {v} has domain size {d}; logz handles binary (domain 2) variables only"
            )));
        }
    }
    let f = tk.usize("the number of factors", MAX_FACTORS)?;
    let mut scopes: Vec<Vec<usize>> = Vec::with_capacity(f.min(1 << 20));
    for k in 0..f {
        let arity = tk.usize(&format!("the arity of factor {k}"), usize::MAX >> 1)?;
        if arity > 2 {
            tk.pos -= 1;
            return Err(tk.err(format!(
                "factor {k} has arity {arity}; logz handles factors over at most two variables"
            )));
        }
        let mut sc = Vec::with_capacity(arity);
        for _ in 0..arity {
            let v = tk.usize(&format!("a variable of factor {k}"), usize::MAX >> 1)?;
            if v >= n {
                tk.pos -= 1;
                return Err(tk.err(format!(
                    "factor {k} names variable {v}, but there are only {n}"
                )));
            }
            sc.push(v);
        }
        scopes.push(sc);
    }
    // Accumulate the Ising form.
    let mut h = vec![0.0; n];
    let mut c_total = 0.0;
    let mut pair: HashMap<(usize, usize), f64> = HashMap::new();
    let mut order: Vec<(usize, usize)> = Vec::new();
    for (k, sc) in scopes.iter().enumerate() {
        let expect = 1usize << sc.len();
        let t = tk.usize(&format!("the table size of factor {k}"), usize::MAX >> 1)?;
        if t != expect {
            tk.pos -= 1;
            return Err(tk.err(format!(
                "factor {k} has {} binary variables, so its table needs {expect} entries, not {t}",
                sc.len()
            )));
        }
        let mut l = [0.0f64; 4];
        for (x, slot) in l.iter_mut().enumerate().take(expect) {
            let v = tk.f64(&format!("entry {x} of table {k}"))?;
            if !v.is_finite() || v <= 0.0 {
                tk.pos -= 1;
                return Err(tk.err(format!(
                    "entry {x} of table {k} is {v}; logz needs strictly positive finite entries \
                     (zeros are hard constraints, which an Ising model cannot express)"
                )));
            }
            *slot = v.ln();
        }
        match sc.len() {
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
    if tk.pos < tk.toks.len() {
        return Err(tk.err(format!(
            "unexpected extra token '{}' after the last table",
            tk.toks[tk.pos].0
        )));
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
    let model = Model::new(kept.len(), &edges, &js, field, 1.0)?.with_energy_offset(-log_const)?;
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
    let mut tk = Tokens::new(file, text);
    if tk.toks.is_empty() {
        return Ok(vec![]);
    }
    let e = tk.usize("the number of evidence variables", MAX_VARS)?;
    let mut out = Vec::with_capacity(e);
    for _ in 0..e {
        let v = tk.usize("an evidence variable", usize::MAX >> 1)?;
        let x = tk.usize("an evidence state", 1)?;
        out.push((v, x));
    }
    Ok(out)
}

/// Read a `.uai` file, and its evidence from `evid` (or `FILE.evid` beside it if that exists).
pub fn read_file(path: &Path, evid: Option<&Path>) -> Result<LoadedModel> {
    let text = read_text(path)?;
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
    parse(&path.display().to_string(), &text, &evidence)
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
