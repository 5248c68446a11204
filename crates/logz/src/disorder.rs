//! Disorder averages: E ln Z / N over random instances of a model family.
//!
//! A random family (`sk:N`, `er:N:q:pm`, …) is drawn K times, instance k with its own seed
//! [`instance_seed`]`(seed, k)` (used both for the couplings and for any stochastic method), and
//! every method of the [`crate::methods`] registry is run on every instance at every β. The
//! result per (method, β) is the sample mean of ln Z/N and its standard error s/√K — the
//! quenched free energy −βf = lim E ln Z/N that replica theory predicts (see
//! [`crate::replica`]).
//!
//! Instances run in parallel on the current rayon pool and, in a distributed run, over the ranks
//! ([`crate::distributed::map`]); each result depends only on its instance index, and the sums
//! are taken in index order, so the answer is identical on any thread or rank count.
//!
//! For `exact` on models of at most [`MULTI_BETA_SPINS`] spins, the instance is enumerated once
//! for all temperatures (Gray code over the 2^N states, or 2^{N−1} with the spin-flip symmetry
//! when there are no fields), accumulating Σ_s e^{−β(E(s) − E_ref)} for every β at once. This equals the registry's `exact` (a test checks
//! it) at a fraction of the cost of one enumeration per β.

use crate::estimate::{Progress, Solver};
use crate::methods::{self, MethodOptions};
use crate::model::builders::{self, Params};
use crate::model::Model;
use crate::runner::Runner;
use crate::{Error, Result};

/// The most instances one average may ask for.
pub const MAX_INSTANCES: usize = 10_000_000;

/// The most β values one average may ask for.
pub const MAX_BETAS: usize = 1000;

/// Up to this many spins `exact` enumerates once for every β.
pub const MULTI_BETA_SPINS: usize = 26;

/// What to average.
#[derive(Debug, Clone)]
pub struct Config {
    /// A random-family spec for [`builders::from_spec`] (`sk:20`, `er:50:0.1:pm`, …).
    pub spec: String,
    /// Coupling scale J.
    pub coupling: f64,
    /// Uniform field h.
    pub field: f64,
    /// Number of instances K ≥ 1.
    pub instances: usize,
    /// Inverse temperatures.
    pub betas: Vec<f64>,
    /// Method names (see [`methods::METHODS`]).
    pub methods: Vec<String>,
    /// Master seed; instance k uses [`instance_seed`]`(seed, k)`.
    pub seed: u64,
    /// Options of the stochastic methods (their seed is replaced per instance).
    pub options: MethodOptions,
}

/// One (method, β) average.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    /// Method name.
    pub method: String,
    /// Inverse temperature.
    pub beta: f64,
    /// Number of spins.
    pub n: usize,
    /// Number of instances K.
    pub instances: usize,
    /// Mean of ln Z/N over the instances.
    pub mean_ln_z_per_spin: f64,
    /// Standard error of that mean, s/√K (None for K = 1).
    pub std_err: Option<f64>,
    /// What kind of number the method's ln Z is (an [`crate::EstimateKind`] label: `exact`,
    /// `lower_bound`, …); a mean of exact values or of bounds is again exact or a bound. When
    /// instances disagree (a run fell back to a weaker kind), see [`combine_kinds`].
    pub kind: String,
    /// Mean of ⟨E⟩/N over the instances, where the method gives the energy (exact, mf, bethe,
    /// tap, ti, …); None otherwise.
    pub mean_energy_per_spin: Option<f64>,
    /// Standard error of the mean energy per spin (None for K = 1 or without energies).
    pub energy_std_err: Option<f64>,
    /// Edwards–Anderson overlap q_EA = (1/N) Σ_i ⟨s_i⟩², averaged over instances, from the
    /// method's marginals (exact ones for `exact`; at h = 0 these vanish at finite N by the
    /// spin-flip symmetry, so q_EA = 0 there). For Monte Carlo methods ([`OVERLAP_METHODS`]) the
    /// unbiased two-replica estimate ⟨q_ab⟩ ([`two_replica_overlap`]; the square of a sampled
    /// ⟨s_i⟩ would be biased up by its variance). None without marginals.
    pub q_ea: Option<f64>,
    /// Standard error of q_EA over the instances.
    pub q_ea_std_err: Option<f64>,
    /// The overlap's second moment ⟨q²⟩ = (1/N²) Σ_ij ⟨s_i s_j⟩², averaged over instances: for
    /// Monte Carlo methods ([`OVERLAP_METHODS`]) from two independent replicas
    /// ([`two_replica_overlap`]), for `exact` exactly when N ≤ [`EXACT_OVERLAP_SPINS`]
    /// ([`exact_overlap`]); None otherwise. Unlike q_EA it does not vanish at h = 0.
    pub q2: Option<f64>,
    /// Standard error of ⟨q²⟩ over the instances.
    pub q2_std_err: Option<f64>,
    /// ⟨|q|⟩, like ⟨q²⟩.
    pub q_abs: Option<f64>,
    /// Standard error of ⟨|q|⟩ over the instances.
    pub q_abs_std_err: Option<f64>,
}

/// Methods whose rows carry the two-replica overlap (q_EA as the mean two-replica overlap,
/// ⟨q²⟩ and ⟨|q|⟩): the Monte Carlo estimators of ln Z.
pub const OVERLAP_METHODS: [&str; 2] = ["ti", "ais"];

/// Up to this many spins `exact` rows carry the exact ⟨q²⟩ and ⟨|q|⟩ (all 4^N replica pairs).
pub const EXACT_OVERLAP_SPINS: usize = 12;

/// At most this many configurations per replica enter the two-replica overlap (the sweeps are
/// thinned to it).
pub const OVERLAP_SAVED: usize = 2000;

/// Overlap statistics of one instance at one β: for two independent replicas a, b of the
/// Boltzmann distribution, q = (1/N) Σ_i s_i^a s_i^b.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overlap {
    /// ⟨q⟩ = (1/N) Σ_i ⟨s_i⟩² (the q_EA of the rows: 0 at h = 0 by the spin-flip symmetry).
    pub q: f64,
    /// ⟨q²⟩ = (1/N²) Σ_ij ⟨s_i s_j⟩².
    pub q2: f64,
    /// ⟨|q|⟩.
    pub q_abs: f64,
}

/// The exact overlap statistics of `m` at its β, by summing p(s) p(t) over all pairs of states
/// (N ≤ [`EXACT_OVERLAP_SPINS`]).
pub fn exact_overlap(m: &Model) -> Result<Overlap> {
    let n = m.n();
    if n == 0 || n > EXACT_OVERLAP_SPINS {
        return Err(Error::arg(format!(
            "exact overlaps need 1 … {EXACT_OVERLAP_SPINS} spins, got {n}"
        )));
    }
    let states = 1usize << n;
    let spins = |x: usize| -> Vec<i8> {
        (0..n)
            .map(|i| if x >> i & 1 == 1 { -1 } else { 1 })
            .collect()
    };
    let logw: Vec<f64> = (0..states)
        .map(|x| -m.beta() * m.energy(&spins(x)))
        .collect();
    let ln_z = crate::numeric::log_sum_exp(&logw);
    let p: Vec<f64> = logw.iter().map(|l| (l - ln_z).exp()).collect();
    // q depends on the pair only through the states' XOR: q = 1 − 2 popcount(s ⊕ t)/N.
    let mut by_flips = vec![0.0f64; n + 1];
    for (s, ps) in p.iter().enumerate() {
        for (t, pt) in p.iter().enumerate() {
            by_flips[(s ^ t).count_ones() as usize] += ps * pt;
        }
    }
    let (mut q, mut q2, mut q_abs) = (0.0, 0.0, 0.0);
    for (k, w) in by_flips.iter().enumerate() {
        let x = 1.0 - 2.0 * k as f64 / n as f64;
        q += w * x;
        q2 += w * x * x;
        q_abs += w * x.abs();
    }
    Ok(Overlap { q, q2, q_abs })
}

/// The overlap statistics of `m` at its β from two independent Metropolis replicas (the two
/// chains of [`crate::mc::sample_saving`], streams of `seed`): after `burn_in` sweeps, the
/// overlap q_t of the replicas' states after the same sweep t (thinned to at most
/// [`OVERLAP_SAVED`] values) is averaged as q, q² and |q|. The replicas are independent, so
/// E q_t = (1/N) Σ⟨s_i⟩² without the upward bias of squaring a sampled ⟨s_i⟩.
pub fn two_replica_overlap(
    m: &Model,
    sweeps: usize,
    burn_in: usize,
    seed: u64,
    runner: &Runner,
) -> Result<Overlap> {
    use crate::mc::{Algorithm, KernelChoice, SampleOptions};
    let o = SampleOptions {
        algorithm: Algorithm::Metropolis,
        sweeps: sweeps.max(1),
        burn_in,
        chains: 2,
        seed,
        kernel: KernelChoice::Generic,
        replicas: 2,
        beta_min_fraction: 0.2,
        cold_start: false,
        exchange_every: 1,
        correlations: false,
    };
    let every = sweeps.div_ceil(OVERLAP_SAVED).max(1);
    let run = crate::mc::sample_saving(m, &o, every, runner)?;
    let n = m.n();
    let (a, b) = (&run.chains[0].saved, &run.chains[1].saved);
    let t = a.len().min(b.len()) / n.max(1);
    if t == 0 {
        return Err(Error::arg(
            "the two-replica overlap got no measured configuration (too few sweeps or stopped)",
        ));
    }
    let (mut q, mut q2, mut q_abs) = (0.0, 0.0, 0.0);
    for k in 0..t {
        let dot: i64 = a[k * n..(k + 1) * n]
            .iter()
            .zip(&b[k * n..(k + 1) * n])
            .map(|(&x, &y)| (x * y) as i64)
            .sum();
        let x = dot as f64 / n as f64;
        q += x;
        q2 += x * x;
        q_abs += x.abs();
    }
    let tf = t as f64;
    Ok(Overlap {
        q: q / tf,
        q2: q2 / tf,
        q_abs: q_abs / tf,
    })
}

/// The [`crate::EstimateKind`] labels, in the order of their codes in an instance's results.
pub const KIND_LABELS: [&str; 6] = [
    "exact",
    "lower_bound",
    "upper_bound",
    "stochastic",
    "stochastic_lower_bound",
    "approximation",
];

fn kind_code(label: &str) -> f64 {
    KIND_LABELS.iter().position(|k| *k == label).unwrap_or(5) as f64
}

/// The kind of a mean of numbers of kinds `a` and `b`: the same kind if they agree; exact
/// values do not weaken a bound or an estimate (the mean of exact values and lower bounds is a
/// lower bound); stochastic with stochastic lower bound is stochastic; anything else is an
/// approximation (no guaranteed direction).
pub fn combine_kinds(a: &str, b: &str) -> &'static str {
    let find = |x: &str| KIND_LABELS.iter().copied().find(|k| *k == x);
    match (find(a), find(b)) {
        (Some(x), Some(y)) if x == y => x,
        (Some("exact"), Some(y)) | (Some(y), Some("exact")) => y,
        (Some("stochastic"), Some("stochastic_lower_bound"))
        | (Some("stochastic_lower_bound"), Some("stochastic")) => "stochastic",
        _ => "approximation",
    }
}

/// Sample mean of `v` and the standard error of that mean, s/√K with the unbiased sample
/// variance s² (None for fewer than two values). NaN for an empty slice.
pub fn mean_and_std_err(v: &[f64]) -> (f64, Option<f64>) {
    let k = v.len() as f64;
    let mean = v.iter().sum::<f64>() / k;
    let se = (v.len() > 1).then(|| {
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0);
        (var / k).sqrt()
    });
    (mean, se)
}

/// Mean and standard error of `v` if every instance has a value (none is NaN).
fn optional_mean(v: &[f64]) -> (Option<f64>, Option<f64>) {
    if v.is_empty() || v.iter().any(|x| x.is_nan()) {
        return (None, None);
    }
    let (m, se) = mean_and_std_err(v);
    (Some(m), se)
}

/// Thermal averages of one instance at every β, from one enumeration ([`enumerate_thermo`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Thermo {
    /// ln Z per β.
    pub ln_z: Vec<f64>,
    /// ⟨E⟩ per β.
    pub energy: Vec<f64>,
    /// q_EA = (1/N) Σ_i ⟨s_i⟩² per β (exactly 0 without fields, by the spin-flip symmetry).
    pub q_ea: Vec<f64>,
}

/// SplitMix64 finaliser: a well-mixed 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of instance `k` under master seed `seed` (distinct instances get unrelated seeds).
pub fn instance_seed(seed: u64, k: usize) -> u64 {
    mix(mix(seed) ^ mix(k as u64 ^ 0xd1b5_4a32_d192_ed03))
}

/// ln Z at every β of `betas` by one enumeration of `m`'s states (m.beta() is ignored).
///
/// One Gray-code walk; the sums Σ_s e^{−β(E(s) − E_ref)} are kept relative to the lowest
/// energy E_ref seen so far and rescaled by e^{−β(E_ref − E)} when a lower one appears, so no
/// term exceeds 1 and nothing overflows. The couplings are held in a dense N × N matrix (N is
/// small here) so that the local-field update after a flip is a contiguous loop.
pub fn enumerate_ln_z(m: &Model, betas: &[f64]) -> Vec<f64> {
    enumerate_thermo(m, betas).ln_z
}

/// ln Z, ⟨E⟩ and q_EA at every β of `betas` by one enumeration of `m`'s states (m.beta() is
/// ignored): the Gray-code walk described at [`enumerate_ln_z`], also accumulating Σ_s (E(s) − E_ref) w_β(s)
/// and, when there are fields, Σ_s s_i w_β(s) (N·|betas| more operations per state). When E_ref
/// drops by δ, the weights scale by e^{−βδ} and every energy difference grows by δ, so
/// the energy sum becomes (S_E + δ S)·e^{−βδ}.
pub fn enumerate_thermo(m: &Model, betas: &[f64]) -> Thermo {
    let n = m.n();
    let nb = betas.len();
    let symmetric = m.fields().iter().all(|&h| h == 0.0);
    let free = if symmetric { n - 1 } else { n };
    let mut dense = vec![0.0f64; n * n];
    for (e, &(i, j)) in m.edges().iter().enumerate() {
        let (i, j) = (i as usize, j as usize);
        dense[i * n + j] += m.couplings()[e];
        dense[j * n + i] += m.couplings()[e];
    }
    let h = m.fields();
    let mut s = vec![1.0f64; n];
    let mut local: Vec<f64> = (0..n)
        .map(|i| dense[i * n..(i + 1) * n].iter().sum())
        .collect();
    let mut e = -m.couplings().iter().sum::<f64>() - h.iter().sum::<f64>() + m.energy_offset();
    let mut e_ref = e;
    let mut sums = vec![1.0f64; nb];
    let mut esums = vec![0.0f64; nb];
    // Σ_s s_i w: row b holds the N sums at β_b (state all +1 counted first).
    let mut msums = if symmetric {
        Vec::new()
    } else {
        vec![1.0f64; nb * n]
    };
    for t in 1u64..(1u64 << free) {
        let i = t.trailing_zeros() as usize;
        e += 2.0 * s[i] * (local[i] + h[i]);
        s[i] = -s[i];
        let d = 2.0 * s[i];
        for (l, &j) in local.iter_mut().zip(&dense[i * n..(i + 1) * n]) {
            *l += d * j;
        }
        if e < e_ref {
            let delta = e_ref - e;
            for b in 0..nb {
                let f = (-betas[b] * delta).exp();
                esums[b] = (esums[b] + delta * sums[b]) * f;
                sums[b] *= f;
                if !symmetric {
                    msums[b * n..(b + 1) * n].iter_mut().for_each(|x| *x *= f);
                }
            }
            e_ref = e;
        }
        let de = e - e_ref;
        for b in 0..nb {
            let w = (-betas[b] * de).exp();
            sums[b] += w;
            esums[b] += w * de;
            if !symmetric {
                for (acc, &si) in msums[b * n..(b + 1) * n].iter_mut().zip(&s) {
                    *acc += w * si;
                }
            }
        }
    }
    let extra = if symmetric {
        std::f64::consts::LN_2
    } else {
        0.0
    };
    let ln_z = (0..nb)
        .map(|b| sums[b].ln() - betas[b] * e_ref + extra)
        .collect();
    let energy = (0..nb).map(|b| esums[b] / sums[b] + e_ref).collect();
    let q_ea = (0..nb)
        .map(|b| {
            if symmetric {
                0.0
            } else {
                msums[b * n..(b + 1) * n]
                    .iter()
                    .map(|x| (x / sums[b]).powi(2))
                    .sum::<f64>()
                    / n as f64
            }
        })
        .collect();
    Thermo { ln_z, energy, q_ea }
}

fn check(c: &Config) -> Result<()> {
    if c.instances == 0 || c.instances > MAX_INSTANCES {
        return Err(Error::arg(format!(
            "the number of instances must be in 1 … {MAX_INSTANCES}, got {}",
            c.instances
        )));
    }
    if c.betas.is_empty() || c.betas.len() > MAX_BETAS {
        return Err(Error::arg(format!(
            "give between 1 and {MAX_BETAS} values of β, got {}",
            c.betas.len()
        )));
    }
    if let Some(b) = c.betas.iter().find(|b| !b.is_finite() || **b < 0.0) {
        return Err(Error::arg(format!(
            "β must be a finite number ≥ 0, got {b}"
        )));
    }
    if c.methods.is_empty() {
        return Err(Error::arg("give at least one method"));
    }
    let names: Vec<&str> = c.methods.iter().map(|s| s.as_str()).collect();
    methods::check(&names, &c.options.given())?;
    Ok(())
}

/// ln Z / N of instance `k` for every (method, β), method-major, followed by five more blocks
/// of the same layout: the kind codes ([`KIND_LABELS`]), ⟨E⟩/N, q_EA, ⟨q²⟩ and ⟨|q|⟩ (NaN where
/// the method does not give them). One flat vector per instance, so instances can be gathered as numbers.
fn one_instance(c: &Config, k: usize, runner: &Runner) -> Result<Vec<f64>> {
    let seed = instance_seed(c.seed, k);
    let p = Params {
        coupling: c.coupling,
        field: c.field,
        beta: c.betas[0],
        seed,
    };
    let model = builders::from_spec(&c.spec, &p)?;
    let n = model.n() as f64;
    let mut out = Vec::with_capacity(c.methods.len() * c.betas.len());
    let mut kinds = Vec::with_capacity(out.capacity());
    let mut energies = Vec::with_capacity(out.capacity());
    let mut q_eas = Vec::with_capacity(out.capacity());
    let mut q2s = Vec::with_capacity(out.capacity());
    let mut q_abss = Vec::with_capacity(out.capacity());
    for name in &c.methods {
        if name == "exact" && model.n() <= MULTI_BETA_SPINS {
            let t = enumerate_thermo(&model, &c.betas);
            out.extend(t.ln_z.iter().map(|l| l / n));
            kinds.extend(t.ln_z.iter().map(|_| kind_code("exact")));
            energies.extend(t.energy.iter().map(|e| e / n));
            q_eas.extend(t.q_ea);
            for &b in &c.betas {
                let o = if model.n() <= EXACT_OVERLAP_SPINS {
                    Some(exact_overlap(&model.with_beta(b)?)?)
                } else {
                    None
                };
                q2s.push(o.map_or(f64::NAN, |o| o.q2));
                q_abss.push(o.map_or(f64::NAN, |o| o.q_abs));
            }
            continue;
        }
        let opts = MethodOptions {
            seed,
            ..c.options.clone()
        };
        let solver: Box<dyn Solver + Send + Sync> = methods::configured(name, &opts)?;
        for &b in &c.betas {
            let e = runner
                .child()
                .run(solver.as_ref(), &model.with_beta(b)?)
                .map_err(|e| {
                    Error::arg(format!(
                        "instance {k} (seed {seed}), {name} at β = {b}: {e}"
                    ))
                })?;
            out.push(e.ln_z / n);
            kinds.push(kind_code(e.kind.label()));
            energies.push(e.energy.map_or(f64::NAN, |x| x / n));
            if OVERLAP_METHODS.contains(&name.as_str()) {
                // A Monte Carlo ⟨s_i⟩ squared is biased up by its sampling variance: q_EA, ⟨q²⟩
                // and ⟨|q|⟩ come from two independent replicas instead.
                let o = two_replica_overlap(
                    &model.with_beta(b)?,
                    c.options.sweeps.unwrap_or(4000),
                    c.options.burn_in.unwrap_or(1000),
                    seed ^ 0x0e7a_9a2f,
                    &runner.child(),
                )
                .map_err(|e| {
                    Error::arg(format!(
                        "instance {k} (seed {seed}), two-replica overlap at β = {b}: {e}"
                    ))
                })?;
                q_eas.push(o.q);
                q2s.push(o.q2);
                q_abss.push(o.q_abs);
                continue;
            }
            q_eas.push(
                if e.magnetization.is_empty() || e.kind.std_err().is_some() {
                    f64::NAN
                } else {
                    e.magnetization.iter().map(|x| x * x).sum::<f64>() / n
                },
            );
            q2s.push(f64::NAN);
            q_abss.push(f64::NAN);
        }
    }
    out.extend(kinds);
    out.extend(energies);
    out.extend(q_eas);
    out.extend(q2s);
    out.extend(q_abss);
    Ok(out)
}

/// The disorder averages of ln Z/N per method and β (rows method-major, β in the given order).
/// `runner` shows progress (one step per instance) and gives every solve its deadline.
pub fn average(c: &Config, runner: &Runner) -> Result<Vec<Row>> {
    check(c)?;
    // Build instance 0 first: a bad spec fails here, once, with its own message.
    let n = builders::from_spec(
        &c.spec,
        &Params {
            coupling: c.coupling,
            field: c.field,
            beta: c.betas[0],
            seed: instance_seed(c.seed, 0),
        },
    )?
    .n();
    runner.start(c.instances as u64, "instances");
    // Instances spread over the ranks of a distributed run (one rank: all of them), gathered
    // in index order to every rank; the sums below are then the same on any number of ranks.
    let per: Vec<Vec<f64>> = crate::distributed::map(c.instances, |k| {
        let r = one_instance(c, k, runner);
        runner.advance(1);
        r
    })?;
    runner.finish();
    let kf = c.instances as f64;
    let mut rows = Vec::new();
    for (mi, name) in c.methods.iter().enumerate() {
        for (bi, &beta) in c.betas.iter().enumerate() {
            let idx = mi * c.betas.len() + bi;
            let mean = per.iter().map(|v| v[idx]).sum::<f64>() / kf;
            let std_err = (c.instances > 1).then(|| {
                let var = per.iter().map(|v| (v[idx] - mean).powi(2)).sum::<f64>() / (kf - 1.0);
                (var / kf).sqrt()
            });
            let mb = c.methods.len() * c.betas.len();
            let kind = per
                .iter()
                .map(|v| KIND_LABELS[v[mb + idx] as usize])
                .reduce(combine_kinds)
                .unwrap_or("approximation");
            let column =
                |block: usize| -> Vec<f64> { per.iter().map(|v| v[block * mb + idx]).collect() };
            let (mean_energy_per_spin, energy_std_err) = optional_mean(&column(2));
            let (q_ea, q_ea_std_err) = optional_mean(&column(3));
            let (q2, q2_std_err) = optional_mean(&column(4));
            let (q_abs, q_abs_std_err) = optional_mean(&column(5));
            rows.push(Row {
                method: name.clone(),
                beta,
                n,
                instances: c.instances,
                mean_ln_z_per_spin: mean,
                std_err,
                kind: kind.to_string(),
                mean_energy_per_spin,
                energy_std_err,
                q_ea,
                q_ea_std_err,
                q2,
                q2_std_err,
                q_abs,
                q_abs_std_err,
            });
        }
    }
    Ok(rows)
}
