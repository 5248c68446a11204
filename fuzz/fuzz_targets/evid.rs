//! `.evid` files, applied to a small chain model.
#![no_main]
use libfuzzer_sys::fuzz_target;

const MODEL: &str = "MARKOV\n4\n2 2 2 2\n3\n2 0 1\n2 1 2\n2 2 3\n4\n1 2 2 1\n4\n3 1 1 3\n4\n1 1 1 2\n";

fuzz_target!(|data: &[u8]| {
    logz::limits::set_memory_limit(256 << 20);
    let text = String::from_utf8_lossy(data);
    if let Ok(ev) = logz::io::uai::parse_evidence("fuzz.evid", &text) {
        if let Ok(lm) = logz::io::uai::parse("m.uai", MODEL, &ev) {
            assert_eq!(lm.expand_magnetization(&vec![0.0; lm.model.n()]).len(), 4);
        }
    }
});
