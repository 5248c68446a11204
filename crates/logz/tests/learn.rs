//! Learning models from samples: recovery from exact samples, the inversions' first-order
//! exactness, pseudo-likelihood gradients, Boltzmann moment matching, the log-likelihood bracket
//! and the CSV reader's errors.

use logz::learn::plm::{batch_objective, spin_objective};
use logz::learn::Samples;
use logz::model::Model;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A small random model: all pairs, couplings ~ U(−a, a), fields ~ U(−b, b).
fn random_model(n: usize, a: f64, b: f64, seed: u64) -> Model {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut edges = vec![];
    let mut j = vec![];
    for x in 0..n {
        for y in x + 1..n {
            edges.push((x, y));
            j.push(a * (2.0 * rng.random::<f64>() - 1.0));
        }
    }
    let h = (0..n).map(|_| b * (2.0 * rng.random::<f64>() - 1.0)).collect();
    Model::new(n, &edges, &j, h, 1.0).unwrap()
}

/// M exact samples of a model small enough to enumerate: the 2^N probabilities, then inverse
/// CDF sampling.
fn exact_samples(m: &Model, count: usize, seed: u64) -> Samples {
    let n = m.n();
    let states: Vec<Vec<i8>> = (0..1usize << n)
        .map(|k| (0..n).map(|i| if k >> i & 1 == 1 { 1 } else { -1 }).collect())
        .collect();
    let logw: Vec<f64> = states.iter().map(|s| -m.beta() * m.energy(s)).collect();
    let mx = logw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut cdf = Vec::with_capacity(states.len());
    let mut acc = 0.0;
    for l in &logw {
        acc += (l - mx).exp();
        cdf.push(acc);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let rows: Vec<&[i8]> = (0..count)
        .map(|_| {
            let u = rng.random::<f64>() * acc;
            let k = cdf.partition_point(|&c| c < u).min(states.len() - 1);
            states[k].as_slice()
        })
        .collect();
    Samples::from_rows(n, rows).unwrap()
}

#[test]
fn plm_batched_objective_matches_the_plain_one() {
    let m = random_model(7, 0.4, 0.3, 1);
    let data = exact_samples(&m, 3000, 2);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let params: Vec<Vec<f64>> = (0..7)
        .map(|_| (0..7).map(|_| rng.random::<f64>() - 0.5).collect())
        .collect();
    let active = [0usize, 3, 6];
    let refs: Vec<&[f64]> = active.iter().map(|&r| params[r].as_slice()).collect();
    let batch = batch_objective(&data, &active, &refs, 0.01);
    for (k, &r) in active.iter().enumerate() {
        let (f, g) = spin_objective(&data, r, &params[r], 0.01);
        assert!((batch[k].0 - f).abs() < 1e-5, "{} vs {f}", batch[k].0);
        for j in 0..7 {
            assert!((batch[k].1[j] - g[j]).abs() < 1e-5, "spin {r} coordinate {j}");
        }
    }
}
