//! `start:stop:step` grids for options such as `--betas` and `--temperature`.
//!
//! The number of points is computed in floating point *before* anything is allocated and
//! compared with a cap, so a tiny or subnormal step (`0:1:1e-320`) or a huge span (`0:2e19:1`)
//! is an error instead of a wrapped-around count, an empty grid or an allocation of terabytes.

use anyhow::{anyhow, Result};

/// The grid start, start + step, … up to stop (inclusive, with a 10⁻⁹-step slack for rounding),
/// or the one value of a single number. `flag` names the option in errors; at most
/// `max_points` points.
pub fn parse_grid(flag: &str, s: &str, max_points: usize) -> Result<Vec<f64>> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |t: &str| -> Result<f64> {
        let v: f64 = t
            .trim()
            .parse()
            .map_err(|_| anyhow!("{flag} '{s}': '{t}' is not a number"))?;
        if !v.is_finite() {
            return Err(anyhow!("{flag} '{s}': '{t}' is not a finite number"));
        }
        Ok(v)
    };
    let (a, b, st) = match parts.len() {
        1 => return Ok(vec![num(parts[0])?]),
        3 => (num(parts[0])?, num(parts[1])?, num(parts[2])?),
        _ => {
            return Err(anyhow!(
                "{flag} '{s}': expected start:stop:step or one value"
            ))
        }
    };
    if b < a || st <= 0.0 {
        return Err(anyhow!("{flag} '{s}': need start ≤ stop and step > 0"));
    }
    // In f64 the count cannot wrap: (b − a)/st is at most ~1e308/1e-320 = ∞, which the cap
    // refuses like any other count above it.
    let count = ((b - a) / st + 1e-9).floor() + 1.0;
    if count.is_nan() || count > max_points as f64 {
        return Err(anyhow!(
            "{flag} '{s}': {count:.3e} points, more than the limit of {max_points}; use a larger step"
        ));
    }
    let n = count as usize;
    let v: Vec<f64> = (0..n).map(|k| a + k as f64 * st).collect();
    // A step below the spacing of floating-point numbers near start would repeat values.
    if v.windows(2).any(|w| w[1] <= w[0]) {
        return Err(anyhow!(
            "{flag} '{s}': the step is too small to change the value at this magnitude"
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::parse_grid;

    #[test]
    fn grids_have_the_expected_points() {
        let v = parse_grid("--betas", "0.1:1.0:0.05", 10_000).unwrap();
        assert_eq!(v.len(), 19);
        assert!((v[18] - 1.0).abs() < 1e-12);
        assert_eq!(parse_grid("--betas", "0.3", 10).unwrap(), vec![0.3]);
        assert_eq!(parse_grid("--betas", "2:2:1", 10).unwrap(), vec![2.0]);
    }

    #[test]
    fn absurd_grids_are_refused_before_allocating() {
        for s in [
            "0:1:1e-320",
            "0:2e19:1",
            "0:1e308:1e-308",
            "0:1:0",
            "1:0:0.1",
            "0:1:-1",
            "0:inf:1",
            "nan",
            "0:1",
            "a:b:c",
            "1e16:1e16000:1",
        ] {
            assert!(parse_grid("--betas", s, 10_000).is_err(), "{s}");
        }
        let e = parse_grid("--betas", "0:1:1e-320", 10_000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than the limit of 10000"), "{e}");
        // Steps below the float spacing: 1e16 + 1 == 1e16.
        let e = parse_grid("--betas", "1e16:1.00000000000001e16:1", 10_000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("too small"), "{e}");
    }
}
