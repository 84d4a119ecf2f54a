//! TREE commands through the real server: every command, error and reply shape (RESP2 and
//! RESP3), the generic key commands on trees, and a million keys inserted in sorted order
//! (height bound, rank and select against the sorted order).

mod common;

use common::{assert_bytes, encode_command, RawConn, Server};
use std::thread::sleep;
use std::time::{Duration, Instant};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn bulk(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

/// RESP2 `[key, value]`.
fn entry(key: &str, value: &str) -> Vec<u8> {
    format!("*2\r\n{}{}", bulk(key), bulk(value)).into_bytes()
}

/// RESP2 flat `key, value, ...` array.
fn entries(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", pairs.len() * 2);
    for (key, value) in pairs {
        out.push_str(&bulk(key));
        out.push_str(&bulk(value));
    }
    out.into_bytes()
}

/// A byte-wise tree `t` holding 1..=7 as `k1`..`k7` mapped to `v1`..`v7`, set out of order.
fn seven(c: &mut RawConn) {
    assert_bytes(
        &c.cmd(&[
            "TREE.SET", "t", "k4", "v4", "k2", "v2", "k6", "v6", "k1", "v1", "k3", "v3", "k5",
            "v5", "k7", "v7",
        ]),
        b":7\r\n",
    );
}

#[test]
fn create_set_get_del_exists_len() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["TREE.CREATE", "t"]), b"+OK\r\n");
    assert_bytes(&c.cmd(&["TYPE", "t"]), b"+tree\r\n");
    assert_bytes(
        &c.cmd(&["TREE.CREATE", "t"]),
        b"-ERR key already exists\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.CREATE", "t", "NUMERIC"]),
        b"-ERR key already exists\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.CREATE", "x", "NUMBERS"]),
        b"-ERR syntax error\r\n",
    );
    assert_bytes(&c.cmd(&["EXISTS", "x"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TREE.SET", "t", "b", "1", "a", "2"]), b":2\r\n");
    // Updates are not counted; a later pair for the same key wins.
    assert_bytes(
        &c.cmd(&["TREE.SET", "t", "a", "3", "c", "4", "c", "5"]),
        b":1\r\n",
    );
    assert_bytes(&c.cmd(&["TREE.GET", "t", "a"]), b"$1\r\n3\r\n");
    assert_bytes(&c.cmd(&["TREE.GET", "t", "c"]), b"$1\r\n5\r\n");
    assert_bytes(&c.cmd(&["TREE.GET", "t", "zz"]), b"$-1\r\n");
    assert_bytes(&c.cmd(&["TREE.EXISTS", "t", "b"]), b":1\r\n");
    assert_bytes(&c.cmd(&["TREE.EXISTS", "t", "zz"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TREE.LEN", "t"]), b":3\r\n");
    assert_bytes(&c.cmd(&["TREE.DEL", "t", "a", "zz", "a"]), b":1\r\n");
    assert_bytes(&c.cmd(&["TREE.DEL", "t", "b", "c"]), b":2\r\n");
    assert_bytes(&c.cmd(&["TREE.LEN", "t"]), b":0\r\n");
    // An empty tree lives on until DEL, keeping its ordering.
    assert_bytes(&c.cmd(&["EXISTS", "t"]), b":1\r\n");
    assert_bytes(&c.cmd(&["TREE.HEIGHT", "t"]), b":0\r\n");
    assert_bytes(&c.cmd(&["DEL", "t"]), b":1\r\n");
    // SET on a missing key creates a byte-wise tree.
    assert_bytes(&c.cmd(&["TREE.SET", "new", "10", "x", "9", "y"]), b":2\r\n");
    assert_bytes(&c.cmd(&["TREE.MIN", "new"]), &entry("10", "x"));
    // Binary-safe keys and values.
    assert_bytes(
        &c.cmd(&[&b"TREE.SET"[..], b"bin", b"\x00\xff", b"\r\n"]),
        b":1\r\n",
    );
    assert_bytes(
        &c.cmd(&[&b"TREE.GET"[..], b"bin", b"\x00\xff"]),
        b"$2\r\n\r\n\r\n",
    );
}

#[test]
fn order_queries() {
    let server = Server::start();
    let mut c = server.raw();
    seven(&mut c);
    assert_bytes(&c.cmd(&["TREE.MIN", "t"]), &entry("k1", "v1"));
    assert_bytes(&c.cmd(&["TREE.MAX", "t"]), &entry("k7", "v7"));
    assert_bytes(&c.cmd(&["TREE.FLOOR", "t", "k4"]), &entry("k4", "v4"));
    assert_bytes(&c.cmd(&["TREE.FLOOR", "t", "k45"]), &entry("k4", "v4"));
    assert_bytes(&c.cmd(&["TREE.FLOOR", "t", "k"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["TREE.CEIL", "t", "k45"]), &entry("k5", "v5"));
    assert_bytes(&c.cmd(&["TREE.CEIL", "t", "k7"]), &entry("k7", "v7"));
    assert_bytes(&c.cmd(&["TREE.CEIL", "t", "k8"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["TREE.RANK", "t", "k1"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TREE.RANK", "t", "k5"]), b":4\r\n");
    assert_bytes(&c.cmd(&["TREE.RANK", "t", "k5", "rev"]), b":2\r\n");
    assert_bytes(&c.cmd(&["TREE.RANK", "t", "k9"]), b"$-1\r\n");
    assert_bytes(&c.cmd(&["TREE.AT", "t", "0"]), &entry("k1", "v1"));
    assert_bytes(&c.cmd(&["TREE.AT", "t", "6"]), &entry("k7", "v7"));
    assert_bytes(&c.cmd(&["TREE.AT", "t", "-1"]), &entry("k7", "v7"));
    assert_bytes(&c.cmd(&["TREE.AT", "t", "-7"]), &entry("k1", "v1"));
    assert_bytes(&c.cmd(&["TREE.AT", "t", "7"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["TREE.AT", "t", "-8"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["TREE.HEIGHT", "t"]), b":3\r\n");
    // Missing keys read as empty trees.
    assert_bytes(&c.cmd(&["TREE.MIN", "none"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["TREE.MAX", "none"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["TREE.FLOOR", "none", "a"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["TREE.CEIL", "none", "a"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["TREE.RANK", "none", "a"]), b"$-1\r\n");
    assert_bytes(&c.cmd(&["TREE.AT", "none", "0"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["TREE.GET", "none", "a"]), b"$-1\r\n");
    assert_bytes(&c.cmd(&["TREE.EXISTS", "none", "a"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TREE.LEN", "none"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TREE.HEIGHT", "none"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TREE.DEL", "none", "a"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TREE.RANGE", "none", "-", "+"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["TREE.TRAVERSE", "none", "INORDER"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["DBSIZE"]), b":1\r\n");
}

#[test]
fn ranges() {
    let server = Server::start();
    let mut c = server.raw();
    seven(&mut c);
    let all: Vec<(String, String)> = (1..=7)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    let pick = |range: std::ops::RangeInclusive<usize>, rev: bool| -> Vec<u8> {
        let mut chosen: Vec<(&str, &str)> = all[range.start() - 1..*range.end()]
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if rev {
            chosen.reverse();
        }
        entries(&chosen)
    };
    assert_bytes(&c.cmd(&["TREE.RANGE", "t", "-", "+"]), &pick(1..=7, false));
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "[k2", "[k4"]),
        &pick(2..=4, false),
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "(k2", "(k4"]),
        &pick(3..=3, false),
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "(k2", "+"]),
        &pick(3..=7, false),
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "-", "[k3"]),
        &pick(1..=3, false),
    );
    // REV: the same range, descending; bounds still min then max.
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "[k2", "[k4", "REV"]),
        &pick(2..=4, true),
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "-", "+", "LIMIT", "2", "3"]),
        &pick(3..=5, false),
    );
    // With REV the offset counts from the top.
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "-", "+", "REV", "LIMIT", "1", "2"]),
        &pick(5..=6, true),
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "-", "+", "LIMIT", "5", "-1"]),
        &pick(6..=7, false),
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "-", "+", "LIMIT", "-1", "5"]),
        b"*0\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "-", "+", "LIMIT", "9", "5"]),
        b"*0\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "-", "+", "LIMIT", "0", "0"]),
        b"*0\r\n",
    );
    assert_bytes(&c.cmd(&["TREE.RANGE", "t", "[k5", "[k2"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["TREE.RANGE", "t", "+", "-"]), b"*0\r\n");
    // Errors.
    let bad_bound = b"-ERR min or max not valid string range item\r\n";
    assert_bytes(&c.cmd(&["TREE.RANGE", "t", "k1", "+"]), bad_bound);
    assert_bytes(&c.cmd(&["TREE.RANGE", "t", "-", "k9"]), bad_bound);
    let syntax = b"-ERR syntax error\r\n";
    assert_bytes(&c.cmd(&["TREE.RANGE", "t", "-", "+", "LIMIT", "1"]), syntax);
    assert_bytes(&c.cmd(&["TREE.RANGE", "t", "-", "+", "BACKWARDS"]), syntax);
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "-", "+", "LIMIT", "x", "1"]),
        b"-ERR value is not an integer or out of range\r\n",
    );
}

#[test]
fn numeric_trees() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["TREE.CREATE", "n", "numeric"]), b"+OK\r\n");
    assert_bytes(
        &c.cmd(&[
            "TREE.SET", "n", "10", "ten", "9", "nine", "-2.5", "neg", "1e3", "k",
        ]),
        b":4\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "n", "-inf", "+inf"]),
        &entries(&[("-2.5", "neg"), ("9", "nine"), ("10", "ten"), ("1e3", "k")]),
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "n", "(9", "1000"]),
        &entries(&[("10", "ten"), ("1e3", "k")]),
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "n", "[9", "(1000"]),
        &entries(&[("9", "nine"), ("10", "ten")]),
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "n", "-", "0"]),
        &entries(&[("-2.5", "neg")]),
    );
    // The same number under another spelling is the same key.
    assert_bytes(&c.cmd(&["TREE.GET", "n", "10.0"]), b"$3\r\nten\r\n");
    assert_bytes(&c.cmd(&["TREE.SET", "n", "1000", "K"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TREE.MAX", "n"]), &entry("1000", "K"));
    assert_bytes(&c.cmd(&["TREE.FLOOR", "n", "9.5"]), &entry("9", "nine"));
    assert_bytes(&c.cmd(&["TREE.CEIL", "n", "9.5"]), &entry("10", "ten"));
    assert_bytes(&c.cmd(&["TREE.RANK", "n", "10"]), b":2\r\n");
    assert_bytes(&c.cmd(&["TREE.AT", "n", "0"]), &entry("-2.5", "neg"));
    assert_bytes(&c.cmd(&["TREE.EXISTS", "n", "0x0a"]), b":1\r\n");
    // Keys that are not numbers are refused, and a refused SET changes nothing.
    let not_float = b"-ERR value is not a valid float\r\n";
    assert_bytes(
        &c.cmd(&["TREE.SET", "n", "5", "five", "abc", "x"]),
        not_float,
    );
    assert_bytes(&c.cmd(&["TREE.EXISTS", "n", "5"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TREE.SET", "n", "nan", "x"]), not_float);
    assert_bytes(&c.cmd(&["TREE.GET", "n", "abc"]), not_float);
    assert_bytes(&c.cmd(&["TREE.EXISTS", "n", "abc"]), not_float);
    assert_bytes(&c.cmd(&["TREE.DEL", "n", "9", "abc"]), not_float);
    assert_bytes(&c.cmd(&["TREE.LEN", "n"]), b":4\r\n");
    assert_bytes(&c.cmd(&["TREE.RANK", "n", "abc"]), not_float);
    assert_bytes(&c.cmd(&["TREE.FLOOR", "n", "abc"]), not_float);
    assert_bytes(&c.cmd(&["TREE.CEIL", "n", "abc"]), not_float);
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "n", "[a", "+"]),
        b"-ERR min or max is not a float\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "n", "-", "x"]),
        b"-ERR min or max is not a float\r\n",
    );
    // A numeric tree keeps its ordering when emptied.
    assert_bytes(
        &c.cmd(&["TREE.DEL", "n", "-2.5", "9", "10", "1000"]),
        b":4\r\n",
    );
    assert_bytes(&c.cmd(&["TREE.SET", "n", "abc", "x"]), not_float);
}

#[test]
fn traversals() {
    let server = Server::start();
    let mut c = server.raw();
    seven(&mut c);
    // Seven keys in an AVL tree form a perfect tree of height 3: k4 on top, k2 and k6 below.
    let shape = |order: &[usize]| -> Vec<u8> {
        let names: Vec<(String, String)> = order
            .iter()
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        entries(&pairs)
    };
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "INORDER"]),
        &shape(&[1, 2, 3, 4, 5, 6, 7]),
    );
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "preorder"]),
        &shape(&[4, 2, 1, 3, 6, 5, 7]),
    );
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "POSTORDER"]),
        &shape(&[1, 3, 2, 5, 7, 6, 4]),
    );
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "LEVELORDER"]),
        &shape(&[4, 2, 6, 1, 3, 5, 7]),
    );
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "LEVELORDER", "LIMIT", "3"]),
        &shape(&[4, 2, 6]),
    );
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "PREORDER", "LIMIT", "0"]),
        b"*0\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "PREORDER", "LIMIT", "-1"]),
        &shape(&[4, 2, 1, 3, 6, 5, 7]),
    );
    let syntax = b"-ERR syntax error\r\n";
    assert_bytes(&c.cmd(&["TREE.TRAVERSE", "t", "SIDEWAYS"]), syntax);
    assert_bytes(&c.cmd(&["TREE.TRAVERSE", "t", "INORDER", "LIMIT"]), syntax);
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "INORDER", "TOP", "1"]),
        syntax,
    );
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "INORDER", "LIMIT", "1", "2"]),
        syntax,
    );
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "INORDER", "LIMIT", "one"]),
        b"-ERR value is not an integer or out of range\r\n",
    );
}

#[test]
fn pops_remove_from_either_end() {
    let server = Server::start();
    let mut c = server.raw();
    seven(&mut c);
    assert_bytes(&c.cmd(&["TREE.POPMIN", "t"]), &entries(&[("k1", "v1")]));
    assert_bytes(
        &c.cmd(&["TREE.POPMAX", "t", "2"]),
        &entries(&[("k7", "v7"), ("k6", "v6")]),
    );
    assert_bytes(&c.cmd(&["TREE.POPMIN", "t", "0"]), b"*0\r\n");
    assert_bytes(
        &c.cmd(&["TREE.POPMIN", "t", "-1"]),
        b"-ERR value is out of range, must be positive\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.POPMIN", "t", "x"]),
        b"-ERR value is not an integer or out of range\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.POPMIN", "t", "1", "2"]),
        b"-ERR syntax error\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.POPMIN", "t", "10"]),
        &entries(&[("k2", "v2"), ("k3", "v3"), ("k4", "v4"), ("k5", "v5")]),
    );
    // The tree stays, empty, as after TREE.DEL; a missing key pops nothing.
    assert_bytes(&c.cmd(&["TREE.LEN", "t"]), b":0\r\n");
    assert_bytes(&c.cmd(&["EXISTS", "t"]), b":1\r\n");
    assert_bytes(&c.cmd(&["TREE.POPMAX", "none"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["SET", "s", "v"]), b"+OK\r\n");
    assert_bytes(&c.cmd(&["TREE.POPMIN", "s"]), WRONGTYPE);
}

#[test]
fn resp3_reply_shapes() {
    let server = Server::start();
    let mut c = server.raw();
    assert!(c.cmd(&["HELLO", "3"]).starts_with(b"%"));
    assert_bytes(&c.cmd(&["TREE.SET", "t", "a", "1", "b", "2"]), b":2\r\n");
    assert_bytes(
        &c.cmd(&["TREE.RANGE", "t", "-", "+"]),
        b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    assert_bytes(
        &c.cmd(&["TREE.TRAVERSE", "t", "INORDER"]),
        b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    assert_bytes(&c.cmd(&["TREE.MIN", "t"]), b"*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_bytes(&c.cmd(&["TREE.MIN", "none"]), b"_\r\n");
    assert_bytes(&c.cmd(&["TREE.AT", "t", "5"]), b"_\r\n");
    assert_bytes(&c.cmd(&["TREE.FLOOR", "t", "0"]), b"_\r\n");
    assert_bytes(&c.cmd(&["TREE.RANK", "t", "z"]), b"_\r\n");
    assert_bytes(&c.cmd(&["TREE.GET", "t", "z"]), b"_\r\n");
    assert_bytes(&c.cmd(&["TREE.RANGE", "none", "-", "+"]), b"*0\r\n");
}

#[test]
fn wrong_types_and_arity() {
    let server = Server::start();
    let mut c = server.raw();
    c.cmd(&["SET", "s", "v"]);
    for args in [
        &["TREE.SET", "s", "a", "1"][..],
        &["TREE.GET", "s", "a"],
        &["TREE.DEL", "s", "a"],
        &["TREE.EXISTS", "s", "a"],
        &["TREE.LEN", "s"],
        &["TREE.MIN", "s"],
        &["TREE.MAX", "s"],
        &["TREE.FLOOR", "s", "a"],
        &["TREE.CEIL", "s", "a"],
        &["TREE.RANK", "s", "a"],
        &["TREE.AT", "s", "0"],
        &["TREE.RANGE", "s", "-", "+"],
        &["TREE.HEIGHT", "s"],
        &["TREE.TRAVERSE", "s", "INORDER"],
    ] {
        assert_bytes(&c.cmd(args), WRONGTYPE);
    }
    assert_bytes(
        &c.cmd(&["TREE.CREATE", "s"]),
        b"-ERR key already exists\r\n",
    );
    c.cmd(&["TREE.SET", "t", "a", "1"]);
    for args in [
        &["GET", "t"][..],
        &["GRAPH.NODES", "t"],
        &["QUEUE.LEN", "t"],
        &["STACK.PUSH", "t", "x"],
    ] {
        assert_bytes(&c.cmd(args), WRONGTYPE);
    }
    for (args, name) in [
        (&["TREE.CREATE"][..], "tree.create"),
        (&["TREE.SET", "t", "a"], "tree.set"),
        (&["TREE.SET", "t", "a", "1", "b"], "tree.set"),
        (&["TREE.GET", "t"], "tree.get"),
        (&["TREE.DEL", "t"], "tree.del"),
        (&["TREE.EXISTS", "t", "a", "b"], "tree.exists"),
        (&["TREE.LEN"], "tree.len"),
        (&["TREE.MIN", "t", "x"], "tree.min"),
        (&["TREE.MAX"], "tree.max"),
        (&["TREE.FLOOR", "t"], "tree.floor"),
        (&["TREE.CEIL", "t"], "tree.ceil"),
        (&["TREE.RANK", "t"], "tree.rank"),
        (&["TREE.AT", "t"], "tree.at"),
        (&["TREE.RANGE", "t", "-"], "tree.range"),
        (&["TREE.HEIGHT"], "tree.height"),
        (&["TREE.TRAVERSE", "t"], "tree.traverse"),
    ] {
        let expected = format!("-ERR wrong number of arguments for '{name}' command\r\n");
        assert_bytes(&c.cmd(args), expected.as_bytes());
    }
    let syntax = b"-ERR syntax error\r\n";
    assert_bytes(&c.cmd(&["TREE.RANK", "t", "a", "DESC"]), syntax);
    assert_bytes(&c.cmd(&["TREE.RANK", "t", "a", "REV", "REV"]), syntax);
    assert_bytes(
        &c.cmd(&["TREE.AT", "t", "first"]),
        b"-ERR value is not an integer or out of range\r\n",
    );
}

#[test]
fn generic_key_commands_work_on_trees() {
    let server = Server::start();
    let mut c = server.raw();
    c.cmd(&["TREE.CREATE", "t", "NUMERIC"]);
    c.cmd(&["TREE.SET", "t", "2", "b", "1", "a"]);
    assert_bytes(&c.cmd(&["OBJECT", "ENCODING", "t"]), b"$7\r\navltree\r\n");
    assert_bytes(&c.cmd(&["COPY", "t", "u"]), b":1\r\n");
    assert_bytes(&c.cmd(&["TREE.DEL", "u", "1"]), b":1\r\n");
    assert_bytes(&c.cmd(&["TREE.LEN", "t"]), b":2\r\n");
    // The copy keeps the numeric ordering.
    assert_bytes(
        &c.cmd(&["TREE.SET", "u", "x", "1"]),
        b"-ERR value is not a valid float\r\n",
    );
    assert_bytes(&c.cmd(&["RENAME", "t", "r"]), b"+OK\r\n");
    assert_bytes(&c.cmd(&["TREE.MIN", "r"]), &entry("1", "a"));
    c.cmd(&["SET", "plain", "v"]);
    let scanned = c.cmd(&["SCAN", "0", "TYPE", "tree"]);
    assert!(
        scanned == b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nr\r\n$1\r\nu\r\n"
            || scanned == b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nu\r\n$1\r\nr\r\n",
        "{}",
        common::escape(&scanned)
    );
    assert_bytes(&c.cmd(&["PEXPIRE", "r", "50"]), b":1\r\n");
    sleep(Duration::from_millis(80));
    assert_bytes(&c.cmd(&["TREE.LEN", "r"]), b":0\r\n");
    assert_bytes(&c.cmd(&["DEL", "r", "u"]), b":1\r\n");
    assert_bytes(&c.cmd(&["DBSIZE"]), b":1\r\n");
}

#[test]
fn redis_crate_client_round_trip() {
    let server = Server::start();
    let mut con = server.client();
    let added: i64 = redis::cmd("TREE.SET")
        .arg("scores")
        .arg(&["bob", "7", "alice", "9", "carol", "3"])
        .query(&mut con)
        .expect("set");
    assert_eq!(added, 3);
    let all: Vec<(String, String)> = redis::cmd("TREE.RANGE")
        .arg("scores")
        .arg("-")
        .arg("+")
        .query(&mut con)
        .expect("range");
    assert_eq!(
        all,
        vec![
            ("alice".to_string(), "9".to_string()),
            ("bob".to_string(), "7".to_string()),
            ("carol".to_string(), "3".to_string())
        ]
    );
    let rank: Option<i64> = redis::cmd("TREE.RANK")
        .arg("scores")
        .arg("bob")
        .query(&mut con)
        .expect("rank");
    assert_eq!(rank, Some(1));
    let last: Option<(String, String)> = redis::cmd("TREE.AT")
        .arg("scores")
        .arg(-1)
        .query(&mut con)
        .expect("at");
    assert_eq!(last, Some(("carol".to_string(), "3".to_string())));
    let none: Option<(String, String)> = redis::cmd("TREE.CEIL")
        .arg("scores")
        .arg("dave")
        .query(&mut con)
        .expect("ceil");
    assert_eq!(none, None);
}

/// Sends `commands` pipelined in batches; `check(i, reply)` sees every reply in order.
fn pipeline(
    conn: &mut RawConn,
    commands: impl Iterator<Item = Vec<Vec<u8>>>,
    mut check: impl FnMut(usize, &[u8]),
) {
    let mut batch = Vec::new();
    let mut sent = 0;
    let mut answered = 0;
    let mut commands = commands.peekable();
    while commands.peek().is_some() {
        batch.clear();
        for command in commands.by_ref().take(5_000) {
            batch.extend(encode_command(&command));
            sent += 1;
        }
        conn.send(&batch);
        while answered < sent {
            let reply = conn.read_reply();
            check(answered, &reply);
            answered += 1;
        }
    }
}

/// One million keys (a tenth of that in a debug build) inserted in ascending order, the worst
/// case for an unbalanced search tree: the height stays within the AVL bound
/// 1.45 * log2(n + 2), and TREE.RANK / TREE.AT agree with the sorted order for every key.
#[test]
fn a_million_sorted_inserts_stay_balanced_and_ranked() {
    let n: usize = if cfg!(debug_assertions) {
        100_000
    } else {
        1_000_000
    };
    let key = |i: usize| format!("k{i:08}");
    let server = Server::start();
    let mut conn = server.raw();
    conn.set_timeout(Duration::from_secs(60));

    let started = Instant::now();
    pipeline(
        &mut conn,
        (0..n).map(|i| {
            vec![
                b"TREE.SET".to_vec(),
                b"big".to_vec(),
                key(i).into_bytes(),
                i.to_string().into_bytes(),
            ]
        }),
        |i, reply| assert_eq!(reply, b":1\r\n", "insert {i}"),
    );
    let insert_time = started.elapsed();
    assert_bytes(
        &conn.cmd(&["TREE.LEN", "big"]),
        format!(":{n}\r\n").as_bytes(),
    );

    let height_reply = conn.cmd(&["TREE.HEIGHT", "big"]);
    let height: usize = std::str::from_utf8(&height_reply)
        .ok()
        .and_then(|t| t.trim_start_matches(':').trim_end().parse().ok())
        .unwrap_or_else(|| panic!("TREE.HEIGHT replied {}", common::escape(&height_reply)));
    let bound = 1.45 * ((n + 2) as f64).log2();
    assert!(
        (height as f64) <= bound,
        "height {height} above 1.45 * log2(n + 2) = {bound:.2}"
    );
    // A perfectly balanced tree needs ceil(log2(n + 1)) levels: a lower bound as a sanity check.
    assert!(height as f64 >= ((n + 1) as f64).log2().ceil());

    let started = Instant::now();
    pipeline(
        &mut conn,
        (0..n).map(|i| vec![b"TREE.RANK".to_vec(), b"big".to_vec(), key(i).into_bytes()]),
        |i, reply| assert_eq!(reply, format!(":{i}\r\n").as_bytes(), "rank of {}", key(i)),
    );
    let rank_time = started.elapsed();
    let started = Instant::now();
    pipeline(
        &mut conn,
        (0..n).map(|i| {
            vec![
                b"TREE.AT".to_vec(),
                b"big".to_vec(),
                i.to_string().into_bytes(),
            ]
        }),
        |i, reply| {
            let expected = entry(&key(i), &i.to_string());
            assert_eq!(reply, expected.as_slice(), "entry at {i}");
        },
    );
    let at_time = started.elapsed();
    // Ranges agree too: a window in the middle, forwards and backwards.
    let mid = n / 2;
    let window = conn.cmd(&[
        "TREE.RANGE",
        "big",
        &format!("[{}", key(mid)),
        "+",
        "LIMIT",
        "0",
        "3",
    ]);
    let expected: Vec<(String, String)> = (mid..mid + 3).map(|i| (key(i), i.to_string())).collect();
    let pairs: Vec<(&str, &str)> = expected
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_bytes(&window, &entries(&pairs));

    let build = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    println!(
        "TREE with {n} keys inserted in sorted order ({build}): height {height} \
         (bound 1.45*log2(n+2) = {bound:.2}); pipelined TREE.SET {:.2} s, TREE.RANK for every \
         key {:.2} s, TREE.AT for every index {:.2} s",
        insert_time.as_secs_f64(),
        rank_time.as_secs_f64(),
        at_time.as_secs_f64()
    );
}
