//! indicatif progress bars behind the library's `Progress` trait.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on stderr (hidden when quiet or when stderr is not a terminal).
pub struct Bar {
    pb: ProgressBar,
}

impl Bar {
    pub fn new(quiet: bool) -> Bar {
        let pb = ProgressBar::hidden();
        // Under mpirun only rank 0 shows progress.
        if !quiet && crate::dist::is_root() {
            pb.set_draw_target(ProgressDrawTarget::stderr());
        }
        pb.set_style(
            ProgressStyle::with_template(
                "{msg:>16} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Bar { pb }
    }
    pub fn set_message(&self, m: String) {
        self.pb.set_message(m);
    }
    pub fn set_length(&self, n: u64) {
        self.pb.set_length(n);
    }
    pub fn inc(&self, n: u64) {
        self.pb.inc(n);
    }
    pub fn clear(&self) {
        self.pb.finish_and_clear();
    }
}

impl logz::Progress for Bar {
    fn start(&self, total: u64, what: &str) {
        self.pb.reset();
        self.pb.set_length(total);
        self.pb.set_message(what.to_string());
    }
    fn advance(&self, delta: u64) {
        self.pb.inc(delta);
    }
    fn message(&self, text: &str) {
        self.pb.set_message(text.to_string());
    }
    fn finish(&self) {}
}
