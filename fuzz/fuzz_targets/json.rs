//! logz's JSON model format.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    logz::limits::set_memory_limit(256 << 20);
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = logz::io::json::parse("fuzz.json", &text) {
        let s = vec![-1i8; m.n()];
        assert!(m.energy(&s).is_finite());
    }
});
