//! A small RESP reply parser for tests that look inside replies.

use super::RawConn;

/// One RESP reply, parsed into a tree for tests that inspect replies whose order or content
/// cannot be compared byte for byte (random picks).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Bulk(Vec<u8>),
    Int(i64),
    Null,
    Error(String),
    Other(String),
    /// An array, set, or map (flattened), with its type byte.
    Aggregate(u8, Vec<Reply>),
}

pub fn parse(buf: &[u8]) -> (Reply, usize) {
    let line_end = buf
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("complete reply");
    let line = String::from_utf8_lossy(&buf[1..line_end]).into_owned();
    let rest = line_end + 2;
    match buf[0] {
        b'$' if line == "-1" => (Reply::Null, rest),
        b'$' => {
            let len: usize = line.parse().expect("bulk length");
            (Reply::Bulk(buf[rest..rest + len].to_vec()), rest + len + 2)
        }
        b':' => (Reply::Int(line.parse().expect("integer")), rest),
        b'_' => (Reply::Null, rest),
        b'-' => (Reply::Error(line), rest),
        b'*' | b'~' | b'%' if line == "-1" => (Reply::Null, rest),
        kind @ (b'*' | b'~' | b'%') => {
            let mut count: usize = line.parse().expect("aggregate length");
            if kind == b'%' {
                count *= 2;
            }
            let mut items = Vec::new();
            let mut pos = rest;
            for _ in 0..count {
                let (item, used) = parse(&buf[pos..]);
                items.push(item);
                pos += used;
            }
            (Reply::Aggregate(kind, items), pos)
        }
        _ => (Reply::Other(line), rest),
    }
}

pub fn call(conn: &mut RawConn, args: &[&str]) -> Reply {
    let bytes = conn.cmd(args);
    let (reply, used) = parse(&bytes);
    assert_eq!(used, bytes.len(), "one reply for {args:?}");
    reply
}

pub fn text(reply: &Reply) -> String {
    match reply {
        Reply::Bulk(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

pub fn items(reply: Reply) -> (u8, Vec<Reply>) {
    match reply {
        Reply::Aggregate(kind, items) => (kind, items),
        other => panic!("expected an aggregate, got {other:?}"),
    }
}
