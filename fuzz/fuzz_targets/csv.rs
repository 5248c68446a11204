//! CSV data for `logz fit`, streamed in chunks of 3 rows into sufficient statistics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use logz::bayes::data::{stream_csv_reader, SuffStats};

fuzz_target!(|data: &[u8]| {
    logz::limits::set_memory_limit(256 << 20);
    let xs = vec!["a".to_string(), "c".to_string()];
    let mut stats = SuffStats::new(2);
    let res = stream_csv_reader("fuzz.csv", data, &xs, "b", 3, |x, y| {
        for (row, v) in x.chunks(2).zip(y) {
            stats.push(row, *v);
        }
        Ok(())
    });
    if let Ok(rows) = res {
        assert_eq!(stats.n as usize, rows);
        let _ = stats.scaling(&xs, "b");
    }
});
