//! The wire protocol: bytes <-> requests and replies. No I/O, no command execution.

pub mod decode;
pub mod encode;

pub use decode::{split_args, ArgSource, ProtocolError, RequestDecoder};
pub use encode::{Aggregate, Deferred, Protover, ReplyBuf};
