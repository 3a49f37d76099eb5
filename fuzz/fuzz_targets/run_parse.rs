//! Fuzz the TaskRun/PipelineRun parser, and the formatter on whatever parses.
#![no_main]

use hallmark::provenance::{Format, FormatOptions, format};
use hallmark::tekton::parse_runs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(runs) = parse_runs(data, None) {
        let opts = FormatOptions::default();
        for run in &runs {
            for f in [Format::SlsaV1, Format::SlsaV2Alpha3, Format::SlsaV2Alpha4] {
                if let Ok(statement) = format(run, &[], f, &opts) {
                    let _ = statement.to_json();
                }
            }
        }
    }
});
