//! End-to-end tests of the `sluice` crate against real throwaway servers
//! (started by `sluice-testcontainers`). One test binary keeps link time down.

mod conformance;
mod replication;
mod support;
