//! The pure formatter: `Run -> Statement`, at parity with Tekton Chains v0.29.2.
//!
//! - [`Format::SlsaV1`] (`slsa/v1`, alias `in-toto`): in-toto Statement v0.1 with a
//!   SLSA v0.2 predicate ([`slsa_v02`]).
//! - [`Format::SlsaV2Alpha3`] / [`Format::SlsaV2Alpha4`]: in-toto Statement v1 with a
//!   SLSA v1 predicate ([`slsa_v1`]).
//!
//! Everything here is deterministic and does no I/O: the same run gives the same
//! statement bytes. Where Chains' output depends on Go map iteration order, hallmark
//! sorts; each such place carries a `// Chains:` comment.
//!
//! Shared pieces: [`statement`] (the Statement and its serialisation) and [`extract`]
//! (Chains' type hinting: which results name subjects and materials).

pub mod extract;
pub mod slsa_v02;
pub mod slsa_v1;
pub mod statement;

use std::fmt;
use std::str::FromStr;

pub use statement::{Statement, Subject};

use crate::tekton::{Run, TaskRun};

/// Chains' default `builder.id`.
pub const DEFAULT_BUILDER_ID: &str = "https://tekton.dev/chains/v2";
/// Chains' default `builddefinition.buildtype`.
pub const DEFAULT_BUILD_TYPE: &str = "https://tekton.dev/chains/v2/slsa";

/// A provenance format (Chains' `artifacts.{taskrun,pipelinerun}.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `slsa/v1` (alias `in-toto`): in-toto Statement v0.1, SLSA provenance v0.2.
    SlsaV1,
    /// `slsa/v2alpha3`: in-toto Statement v1, SLSA provenance v1.
    SlsaV2Alpha3,
    /// `slsa/v2alpha4`: in-toto Statement v1, SLSA provenance v1 (with step results,
    /// StepActions and the `slsa-tekton` build type's task descriptors).
    SlsaV2Alpha4,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SlsaV1 => "slsa/v1",
            Self::SlsaV2Alpha3 => "slsa/v2alpha3",
            Self::SlsaV2Alpha4 => "slsa/v2alpha4",
        })
    }
}

impl FromStr for Format {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "slsa/v1" | "in-toto" => Ok(Self::SlsaV1),
            "slsa/v2alpha3" => Ok(Self::SlsaV2Alpha3),
            "slsa/v2alpha4" => Ok(Self::SlsaV2Alpha4),
            "slsa/v2alpha2" => Err(FormatError::UnknownFormat(
                "slsa/v2alpha2 was removed from Tekton Chains; use slsa/v2alpha3 or slsa/v2alpha4"
                    .into(),
            )),
            other => Err(FormatError::UnknownFormat(format!(
                "{other:?} is not a provenance format (slsa/v1, in-toto, slsa/v2alpha3, slsa/v2alpha4)"
            ))),
        }
    }
}

/// Formatter settings (Chains' `builder.id`, `builddefinition.buildtype` and
/// `artifacts.pipelinerun.enable-deep-inspection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatOptions {
    /// `builder.id` of the provenance.
    pub builder_id: String,
    /// `buildDefinition.buildType` of SLSA v1 provenance
    /// (`https://tekton.dev/chains/v2/slsa` or `.../slsa-tekton`).
    pub build_type: String,
    /// Whether a PipelineRun's provenance also reads its child TaskRuns' results.
    pub deep_inspection: bool,
}

impl Default for FormatOptions {
    fn default() -> Self {
        Self {
            builder_id: DEFAULT_BUILDER_ID.into(),
            build_type: DEFAULT_BUILD_TYPE.into(),
            deep_inspection: false,
        }
    }
}

/// Why a run could not be formatted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The format name is not known (or no longer supported).
    #[error("unknown provenance format: {0}")]
    UnknownFormat(String),
    /// The format does not support this run or option.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A step or sidecar image ID is not `IMAGE@ALGORITHM:HEX`, so it cannot be a material
    /// (Chains fails the same way).
    #[error("{path}: expected image ID {image_id:?} to be IMAGE@ALGORITHM:HEX")]
    ImageId {
        /// Where the image ID was found (`TaskRun NAME status.steps[0].imageID`).
        path: String,
        /// The image ID found.
        image_id: String,
    },
    /// A value could not be turned into the predicate.
    #[error("{0}")]
    Invalid(String),
}

/// Formats a run as an in-toto Statement.
///
/// `children` are a PipelineRun's child TaskRuns (matched to pipeline tasks by their
/// `tekton.dev/pipelineTask` label; ignored for TaskRuns). For a v1beta1 PipelineRun
/// given without children, the child statuses embedded in `status.taskRuns` are used.
///
/// # Errors
///
/// [`FormatError`] when a step or sidecar image ID is malformed (as in Chains), or
/// the format does not support the run.
pub fn format(
    run: &Run,
    children: &[TaskRun],
    format: Format,
    opts: &FormatOptions,
) -> Result<Statement, FormatError> {
    let ordered;
    let children = match run {
        Run::PipelineRun(pr) => {
            // Chains: reads children from the cluster only; hallmark also uses a v1beta1
            // PipelineRun's embedded child statuses when no child TaskRun is given.
            let given = if children.is_empty() && pr.is_v1beta1() {
                &pr.status.embedded_task_runs[..]
            } else {
                children
            };
            if extract::children_in_order(pr, given) {
                // Already in Chains' order with no repeated name: no copy needed.
                given
            } else {
                ordered = extract::order_children(pr, given);
                &ordered[..]
            }
        }
        Run::TaskRun(_) => &[][..],
    };
    match (format, run) {
        (Format::SlsaV1, Run::TaskRun(tr)) => slsa_v02::taskrun(tr, opts),
        (Format::SlsaV1, Run::PipelineRun(pr)) => slsa_v02::pipelinerun(pr, children, opts),
        (Format::SlsaV2Alpha3 | Format::SlsaV2Alpha4, Run::TaskRun(tr)) => {
            slsa_v1::taskrun(tr, format, opts)
        }
        (Format::SlsaV2Alpha3 | Format::SlsaV2Alpha4, Run::PipelineRun(pr)) => {
            slsa_v1::pipelinerun(pr, children, format, opts)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names() {
        assert_eq!("in-toto".parse::<Format>().ok(), Some(Format::SlsaV1));
        assert_eq!("slsa/v1".parse::<Format>().ok(), Some(Format::SlsaV1));
        assert_eq!(
            "slsa/v2alpha4"
                .parse::<Format>()
                .map(|f| f.to_string())
                .ok()
                .as_deref(),
            Some("slsa/v2alpha4")
        );
        let err = "slsa/v2alpha2"
            .parse::<Format>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("removed"), "{err}");
        assert!("tekton".parse::<Format>().is_err());
        let d = FormatOptions::default();
        assert_eq!(d.builder_id, "https://tekton.dev/chains/v2");
        assert_eq!(d.build_type, "https://tekton.dev/chains/v2/slsa");
    }
}
