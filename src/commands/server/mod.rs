//! Connection and server commands, one module per topic.

pub mod admin;
pub mod client;
pub mod config;
pub mod connection;
pub mod debug;
pub mod info;
pub mod introspection;
pub mod lolwut;
pub mod modules;
pub mod replication;

/// The Redis version reported to clients, which check it to decide what they may use.
pub const REDIS_VERSION: &str = "7.0.15";
