//! UAI models: any bytes give a model or an error, never a panic or an allocation above 1 GiB.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    logz::limits::set_memory_limit(1 << 30);
    if let Ok(lm) = logz::io::uai::parse_reader("fuzz.uai", data, &[]) {
        let s = vec![1i8; lm.model.n()];
        assert!(lm.model.energy(&s).is_finite());
    }
});
