//! Reddish: a Redis-compatible server with native TREE, GRAPH, QUEUE and STACK types and
//! write-behind persistence to MongoDB.
//!
//! Layers, each depending only on those listed after it:
//! - [`persistence`]: write-behind to MongoDB through the one handle it installs in the
//!   server ([`commands::persistence::Persistence`], which the reactor reaches through the
//!   server); the only place `mongodb` and `bson` appear;
//! - [`network`]: the single-threaded `mio` reactor (the only place `mio` appears);
//! - [`commands`]: the command table, argument parsing and handlers;
//! - [`protocol`]: bytes <-> requests and replies, no I/O;
//! - [`store`]: the data and its operations, no I/O, threads or protocol;
//! - [`config`]: settings from file, flags and CONFIG SET;
//! - [`clock`]: the wall clock, a leaf every layer may use;
//! - [`number`]: integers and doubles read and written as Redis does, a leaf every layer uses;
//! - [`process`]: what the operating system says about the process (memory, CPU), a leaf;
//! - [`lazyfree`]: the thread that frees large values off the reactor (UNLINK, async flushes);
//! - [`import`]: `--import-rdb`, a Redis RDB file loaded into the keyspace at start.
//!
//! `main.rs` wires them together.

pub mod clock;
pub mod commands;
pub mod config;
pub mod import;
pub mod lazyfree;
pub mod memory;
pub mod network;
pub mod number;
pub mod persistence;
pub mod process;
pub mod protocol;
pub mod signals;
pub mod store;
