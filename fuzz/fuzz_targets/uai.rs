//! UAI models: any bytes give a model or an error, never a panic or an allocation above the
//! 256 MiB budget (small, so that large but legitimate models do not slow the search down).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    logz::limits::set_memory_limit(256 << 20);
    if let Ok(lm) = logz::io::uai::parse_reader("fuzz.uai", data, &[]) {
        let s = vec![1i8; lm.model.n()];
        assert!(lm.model.energy(&s).is_finite());
    }
});
