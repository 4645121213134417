//! Talking to an OpenAI-compatible server: one blocking ureq agent, request
//! building, retries, timeouts, and errors in the words of SPEC §4.
//!
//! A request is first *prepared* ([`prepare`]): URL, headers and body are
//! fixed, `${env:VAR}` references resolved, and secrets wrapped. The dry
//! run prints exactly that value and the send path sends exactly that
//! value, so what `aix run` shows is what `aix run --execute` does.
//!
//! Streams are relayed by reading the socket into a buffer, handing it to
//! the pure [`sse`](crate::http::sse) parser, decoding each event with
//! [`chunk`](crate::http::chunk), and writing deltas to a [`Sink`] that is
//! flushed once per read, not once per delta: latency stays at one read,
//! and throughput near the socket's.

pub mod chunk;
mod errors;
mod relay;
mod request;
pub mod sse;
mod tls;
mod transport;
pub mod wire;

/// (Named here for the relay benchmark, which sees only this module.)
#[cfg(feature = "internals")]
pub use crate::provider::Wire;
pub use errors::*;
pub use relay::*;
pub use request::*;
pub use transport::*;

use std::time::Duration;

/// Connect timeout (SPEC §4).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Answer timeout when neither `--timeout` nor the provider sets one.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;
/// Tries for 429, 5xx and connection failures, before any output.
const MAX_TRIES: u32 = 3;
/// A `Retry-After` longer than this is not waited for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Largest error or non-stream body read into memory.
const MAX_BODY: u64 = 64 * 1024 * 1024;
/// Same-origin redirects followed before giving up.
const MAX_REDIRECTS: u32 = 5;
/// One read of a body: ureq's own input buffer (it reads 128 KiB at a
/// time), so that a fast stream costs one read, and one flush of the
/// answer, per receive (64 KiB took two of each).
const READ_BUF: usize = 128 * 1024;
/// An event whose data grows past this is spilled to a temporary file
/// and decoded from there (see `chunk::decode_spilled`), so a huge delta
/// is not held in memory.
pub const SPILL_AT: usize = 256 * 1024;
