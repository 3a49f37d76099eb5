//! Test helpers shared by the integration tests.
pub mod controller;
pub mod fault_proxy;
pub mod peers;
