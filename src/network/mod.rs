//! The network layer: the reactor and its connections, plain or TLS. The only place `mio` and
//! `rustls` appear.

mod client;
mod debugger;
mod listeners;
mod migrate;
mod reactor;
mod tls;

pub use reactor::{Reactor, WakeHandle};
