//! The network layer: the reactor and its connections. The only place `mio` appears.

mod client;
mod listeners;
mod migrate;
mod reactor;

pub use reactor::{Reactor, WakeHandle};
