//! `logz train-van`: train a variational autoregressive network on a spin model for a long run,
//! save it with its evaluation and the ELBO-against-time curve, so that `logz solve --method van
//! --net net.json` can evaluate or continue it later.

use crate::progress::Bar;
use crate::{load_model, outln, MethodArgs, ModelArgs};
use anyhow::{Context, Result};
use clap::Args;
use logz::estimate::ErrorBar;
use logz::spin_vi::van::checkpoint::Checkpoint;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct TrainVanArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub options: MethodArgs,
    /// Where to save the trained network (JSON)
    #[arg(long, short)]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: &TrainVanArgs) -> Result<()> {
    let lm = load_model(&a.model)?;
    let m = &lm.model;
    let opts = a.options.options(a.model.seed, &["van"])?;
    let van = logz::methods::van_options(&opts, false);
    let bar = Bar::new(a.quiet || a.json);
    let (net, report) = van.train(m, &crate::runner(&bar))?;
    bar.clear();
    let exact = logz::exact::reference::exact_ln_z(m);
    let ck = Checkpoint {
        model: a.model.model.clone(),
        beta: m.beta(),
        network: net,
        report: report.clone(),
        exact_ln_z: exact,
    };
    // Under mpirun every rank holds the same network; rank 0 writes it.
    if crate::dist::is_root() {
        std::fs::write(&a.out, ck.to_json())
            .with_context(|| format!("writing {}", a.out.display()))?;
    }
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "elbo": report.elbo, "elbo_std_err": ErrorBar(report.elbo_std_err),
                "iw_ln_z": report.iw_ln_z, "iw_std_err": ErrorBar(report.iw_std_err), "ess": report.ess,
                "exact_ln_z": exact, "seconds": report.seconds, "out": a.out,
                "steps": report.steps, "termination": report.termination.label(),
            }))?
        );
        return Ok(());
    }
    outln!(
        "VAN on {} ({} spins, β = {}), {} steps, {:.1} s",
        a.model.model,
        m.n(),
        m.beta(),
        report.steps,
        report.seconds
    );
    if report.termination.interrupted() {
        outln!(
            "stopped: {} — the network so far is evaluated and saved; resume with --net",
            report.termination.label()
        );
    }
    outln!(
        "ELBO                 {:.6} ± {:.2e}   (stochastic lower bound)",
        report.elbo,
        report.elbo_std_err
    );
    outln!(
        "importance-weighted  {:.6} ± {:.2e}   (ESS {:.0} of {})",
        report.iw_ln_z,
        report.iw_std_err,
        report.ess,
        report.samples
    );
    if let Some(x) = exact {
        outln!("exact                {x:.6}");
        outln!(
            "relative error       ELBO {:.2e}, importance-weighted {:.2e}",
            (x - report.elbo) / x.abs(),
            (report.iw_ln_z - x) / x.abs()
        );
    }
    outln!("saved to {}", a.out.display());
    Ok(())
}
