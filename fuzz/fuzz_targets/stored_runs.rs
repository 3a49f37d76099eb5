//! Fuzz reading attestations stored on runs (`verify --chain --kubeconfig`): a TaskRun list
//! comes from a cluster and its annotations from whoever could write them. Any bytes that
//! parse as JSON give stored attestations (each with a non-empty envelope) and skipped
//! runs, never a panic; a PipelineRun reference binding arbitrary JSON as a statement
//! never panics either.
#![no_main]

use hallmark::verify::chain::{PipelineRunRef, TaskTiming};
use hallmark::verify::stored::{Owner, pipeline_children};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(list) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for owner in [Owner::Uid("u1"), Owner::Pipeline("build")] {
        let c = pipeline_children(&list, owner);
        assert!(c.attestations.iter().all(|a| !a.envelope.is_empty()));
    }
    let run = PipelineRunRef {
        uid: None,
        pipeline: Some("build".into()),
        tasks: vec![TaskTiming {
            name: "clone".into(),
            started_on: Some("2026-11-26T10:00:00Z".into()),
            finished_on: Some("2026-11-26T10:00:05Z".into()),
        }],
    };
    let _ = run.binds_statement(&list);
});
