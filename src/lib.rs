//! hallmark signs what Tekton pipelines build and proves it later.
//!
//! Data flows one way: **source → format → sign → publish → record**, and verification
//! reads the same pieces backwards. The modules follow that flow:
//!
//! - [`tekton`]: the serde model of TaskRuns and PipelineRuns (only what is read).
//! - [`provenance`]: pure formatter, `Run -> Statement` (SLSA v0.2 and v1, Chains parity).
//! - [`dsse`]: pure DSSE envelope and pre-authentication encoding.
//! - [`signing`]: the [`signing::Signer`] trait and local key files (cosign, PKCS#8).
//! - [`bundle`]: Sigstore bundle (v0.1–v0.3) reading.
//! - [`verify`]: signature, payload and subject checks on envelopes and bundles.
//! - [`oci`]: registries: image references, manifests, cosign's legacy layout, referrers.
//! - [`publish`]: `publish(attestation, sinks)`: bundle v0.3 and legacy layers beside images.
//! - [`rekor`]: Rekor v1 entries read back by hash and UUID (the `TransparencyLog` seam).
//! - [`search`]: a pipeline's entries in Rekor v1, each verified before it is shown.
//! - [`config`]: Chains' `chains-config` keys, parsed into a typed model.
//! - [`cli`]: one file per subcommand: flags → config model → library calls.

pub mod bundle;
pub mod cli;
pub mod config;
pub mod controller;
pub mod dsse;
pub mod http;
pub mod layout;
pub mod oci;
pub mod provenance;
pub mod publish;
pub mod rekor;
pub mod search;
pub mod signing;
pub mod tekton;
#[doc(hidden)]
pub mod test_support;
pub mod transparency;
pub mod trust;
pub mod verify;
pub mod x509;
