//! Integration tests: each drives the real `aix` binary with its home in a
//! fresh temp folder and a cleared environment.

mod aliases;
mod api_key;
mod common;
mod config;
mod data_safety;
mod general;
mod hardening;
mod huge_delta;
mod import;
mod manifest;
mod models;
mod models_sync;
mod network;
mod peer;
mod peer_litellm;
mod peer_tools;
mod prompts;
mod provider;
mod readable;
mod repl;
mod review_config;
mod review_output;
mod run;
mod secrets;
mod server;
mod shaping;
mod store;
mod stream_masking;
mod stream_shapes;
mod targets;
mod timeouts;
mod transport;
mod usability;
mod validate;
mod wire;
