//! A VAN checkpoint always reads back: numbers JSON cannot write (NaN k̂ when the importance
//! weights tie, written as `null`) must not make `--net` refuse the file `train-van` wrote.

use logz::runner::Runner;
use logz::spin_vi::van::checkpoint::Checkpoint;
use logz::spin_vi::van::Van;

#[test]
fn a_checkpoint_with_nan_diagnostics_reads_back() {
    let m = logz::model::builders::from_spec("square:3x3", &Default::default()).unwrap();
    let van = Van {
        width: Some(4),
        steps: 5,
        batch: 8,
        eval_samples: 64,
        ..Van::default()
    };
    let (network, mut report) = van.train(&m, &Runner::new()).unwrap();
    report.khat = f64::NAN;
    report.psis_ln_z = f64::NAN;
    report.cubo = f64::NAN;
    let ck = Checkpoint {
        model: "square:3x3".into(),
        beta: m.beta(),
        network,
        report,
        exact_ln_z: None,
    };
    let text = ck.to_json();
    assert!(text.contains("\"khat\":null"), "{text}");
    let back = Checkpoint::parse("ck.json", &text).unwrap();
    assert!(back.report.khat.is_nan() && back.report.psis_ln_z.is_nan());
    assert!(back.report.cubo.is_nan());
    assert_eq!(back.report.elbo, ck.report.elbo);
    assert_eq!(back.network.params, ck.network.params);
}
