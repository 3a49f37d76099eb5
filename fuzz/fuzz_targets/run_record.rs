//! Fuzz what the controller reads from the cluster: a run object (any JSON) becomes a
//! `RunView`, its stored record and progress annotations are parsed, and `decide` runs on
//! it; a docker config from an imagePullSecret is read. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hallmark::config::Config;
use hallmark::controller::credentials::{auths_of, merged_config};
use hallmark::controller::record::{DecideOptions, Kind, RunView, decide};

fuzz_target!(|data: &[u8]| {
    let _ = merged_config(&[auths_of(data)]);
    let Ok(obj) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let view = RunView::from_json(&obj);
    let _ = view.record();
    let _ = view.progress().failures();
    let _ = view.claim();
    let _ = view.retries();
    let opts = DecideOptions {
        holder: "fuzz".into(),
        claim_ttl: std::time::Duration::from_secs(60),
        finalizer_deadline: std::time::Duration::from_secs(60),
    };
    for kind in [Kind::TaskRun, Kind::PipelineRun] {
        let _ = decide(kind, &view, &Config::default(), &opts, jiff::Timestamp::now());
    }
});
