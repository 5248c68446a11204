//! VAN checkpoints (`logz train-van` output, read back by `--net`): a network that passes
//! validation must be usable.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    logz::limits::set_memory_limit(256 << 20);
    let text = String::from_utf8_lossy(data);
    if let Ok(ck) = logz::vi::checkpoint::Checkpoint::parse("fuzz.json", &text) {
        let net = &ck.network;
        let _ = net.log_q(&vec![1.0; net.n]);
    }
});
