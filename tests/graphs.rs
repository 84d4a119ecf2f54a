//! GRAPH commands through the real server: every command, error and reply shape (RESP2 and
//! RESP3), the generic key commands on graphs, and GRAPH.SHORTESTPATH on a large random graph
//! checked against a reference Dijkstra written here (with its time per query measured).

mod common;

use common::{assert_bytes, encode_command, RawConn, Server};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::thread::sleep;
use std::time::{Duration, Instant};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn resp3(conn: &mut RawConn) {
    let reply = conn.cmd(&["HELLO", "3"]);
    assert!(reply.starts_with(b"%"), "HELLO 3 answered {reply:?}");
}

/// RESP2 array of bulk strings.
fn names(items: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    for item in items {
        out.extend(format!("${}\r\n{item}\r\n", item.len()).bytes());
    }
    out
}

fn bulk(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

/// Adds `from -> to` edges with weights to graph `key`.
fn add_edges(c: &mut RawConn, key: &str, edges: &[(&str, &str, &str)]) {
    for (from, to, weight) in edges {
        let reply = c.cmd(&["GRAPH.ADDEDGE", key, from, to, "WEIGHT", weight]);
        assert!(reply == b":1\r\n" || reply == b":0\r\n", "{reply:?}");
    }
}

#[test]
fn create_and_its_errors() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["GRAPH.CREATE", "g"]), b"+OK\r\n");
    assert_bytes(&c.cmd(&["TYPE", "g"]), b"+graph\r\n");
    assert_bytes(&c.cmd(&["GRAPH.NODES", "g"]), b"*0\r\n");
    assert_bytes(
        &c.cmd(&["GRAPH.CREATE", "g"]),
        b"-ERR key already exists\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.CREATE", "g", "UNDIRECTED"]),
        b"-ERR key already exists\r\n",
    );
    assert_bytes(&c.cmd(&["SET", "s", "v"]), b"+OK\r\n");
    assert_bytes(
        &c.cmd(&["GRAPH.CREATE", "s"]),
        b"-ERR key already exists\r\n",
    );
    assert_bytes(&c.cmd(&["GRAPH.CREATE", "u", "undirected"]), b"+OK\r\n");
    assert_bytes(
        &c.cmd(&["GRAPH.CREATE", "x", "DIRECTED"]),
        b"-ERR syntax error\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.CREATE", "x", "UNDIRECTED", "UNDIRECTED"]),
        b"-ERR syntax error\r\n",
    );
    assert_bytes(&c.cmd(&["EXISTS", "x"]), b":0\r\n");
    // Directedness is kept: an undirected edge answers both ways.
    assert_bytes(&c.cmd(&["GRAPH.ADDEDGE", "u", "a", "b"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "u", "b", "a"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "g", "b", "a"]), b":0\r\n");
}

#[test]
fn nodes_and_edges_are_added_and_removed() {
    let server = Server::start();
    let mut c = server.raw();
    // ADDNODE creates a directed graph when the key is missing.
    assert_bytes(&c.cmd(&["GRAPH.ADDNODE", "g", "b", "a", "b"]), b":2\r\n");
    assert_bytes(&c.cmd(&["GRAPH.ADDNODE", "g", "a"]), b":0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.NODES", "g"]), &names(&["a", "b"]));
    // ADDEDGE: 1 for a new edge, 0 for a weight update; default weight 1; missing nodes made.
    assert_bytes(&c.cmd(&["GRAPH.ADDEDGE", "g", "a", "c"]), b":1\r\n");
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "c", "weight", "2.5"]),
        b":0\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "c", "c", "WEIGHT", "0"]),
        b":1\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "b", "d", "WEIGHT", "0.1"]),
        b":1\r\n",
    );
    assert_bytes(&c.cmd(&["GRAPH.NODES", "g"]), &names(&["a", "b", "c", "d"]));
    let edges = format!(
        "*3\r\n*3\r\n{}{}{}*3\r\n{}{}{}*3\r\n{}{}{}",
        bulk("a"),
        bulk("c"),
        bulk("2.5"),
        bulk("b"),
        bulk("d"),
        bulk("0.10000000000000001"),
        bulk("c"),
        bulk("c"),
        bulk("0"),
    );
    assert_bytes(&c.cmd(&["GRAPH.EDGES", "g"]), edges.as_bytes());
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "g", "a", "c"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "g", "c", "a"]), b":0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "g", "a", "zz"]), b":0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DELEDGE", "g", "c", "a"]), b":0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DELEDGE", "g", "a", "c"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DELEDGE", "g", "a", "c"]), b":0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "g", "a", "c"]), b":0\r\n");
    // Deleting an edge keeps its nodes; deleting a node takes its edges.
    assert_bytes(&c.cmd(&["GRAPH.NODES", "g"]), &names(&["a", "b", "c", "d"]));
    assert_bytes(&c.cmd(&["GRAPH.DELNODE", "g", "d", "zz"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "g", "b", "d"]), b":0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DEGREE", "g", "b"]), b":0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DELNODE", "g", "a", "b", "c"]), b":3\r\n");
    assert_bytes(&c.cmd(&["GRAPH.EDGES", "g"]), b"*0\r\n");
    // An empty graph lives on until DEL (unlike an emptied queue or stack).
    assert_bytes(&c.cmd(&["EXISTS", "g"]), b":1\r\n");
    assert_bytes(&c.cmd(&["TYPE", "g"]), b"+graph\r\n");
    assert_bytes(&c.cmd(&["DEL", "g"]), b":1\r\n");
    // ADDEDGE on a missing key creates a directed graph.
    assert_bytes(&c.cmd(&["GRAPH.ADDEDGE", "new", "x", "y"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "new", "y", "x"]), b":0\r\n");
    assert_bytes(&c.cmd(&["TYPE", "new"]), b"+graph\r\n");
}

#[test]
fn weight_errors_change_nothing() {
    let server = Server::start();
    let mut c = server.raw();
    let negative = b"-ERR edge weight must not be negative\r\n";
    let infinite = b"-ERR edge weight must be a finite number\r\n";
    let not_float = b"-ERR value is not a valid float\r\n";
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT", "-1"]),
        negative,
    );
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT", "inf"]),
        infinite,
    );
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT", "-inf"]),
        infinite,
    );
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT", "nan"]),
        not_float,
    );
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT", "1x"]),
        not_float,
    );
    assert_bytes(&c.cmd(&["EXISTS", "g"]), b":0\r\n");
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT", "3"]),
        b":1\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT", "-1"]),
        negative,
    );
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "c", "WEIGHT", "-1"]),
        negative,
    );
    assert_bytes(&c.cmd(&["GRAPH.NODES", "g"]), &names(&["a", "b"]));
    let edges = format!("*1\r\n*3\r\n{}{}{}", bulk("a"), bulk("b"), bulk("3"));
    assert_bytes(&c.cmd(&["GRAPH.EDGES", "g"]), edges.as_bytes());
    // -0 is stored as 0.
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT", "-0"]),
        b":0\r\n",
    );
    let edges = format!("*1\r\n*3\r\n{}{}{}", bulk("a"), bulk("b"), bulk("0"));
    assert_bytes(&c.cmd(&["GRAPH.EDGES", "g"]), edges.as_bytes());
    let syntax = b"-ERR syntax error\r\n";
    assert_bytes(&c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT"]), syntax);
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "HEAVY", "2"]),
        syntax,
    );
    assert_bytes(
        &c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b", "WEIGHT", "2", "x"]),
        syntax,
    );
}

#[test]
fn neighbors_and_degree() {
    let server = Server::start();
    let mut c = server.raw();
    add_edges(
        &mut c,
        "g",
        &[
            ("a", "c", "3"),
            ("a", "b", "1.5"),
            ("c", "a", "2"),
            ("d", "a", "1"),
            ("a", "a", "4"),
        ],
    );
    assert_bytes(
        &c.cmd(&["GRAPH.NEIGHBORS", "g", "a"]),
        &names(&["a", "b", "c"]),
    );
    assert_bytes(
        &c.cmd(&["GRAPH.NEIGHBORS", "g", "a", "OUT"]),
        &names(&["a", "b", "c"]),
    );
    assert_bytes(
        &c.cmd(&["GRAPH.NEIGHBORS", "g", "a", "in"]),
        &names(&["a", "c", "d"]),
    );
    // BOTH in a directed graph: one entry per edge, a name's outgoing edge first.
    assert_bytes(
        &c.cmd(&["GRAPH.NEIGHBORS", "g", "a", "BOTH"]),
        &names(&["a", "a", "b", "c", "c", "d"]),
    );
    let with_weights = format!(
        "*6\r\n{}{}{}{}{}{}",
        bulk("a"),
        bulk("4"),
        bulk("b"),
        bulk("1.5"),
        bulk("c"),
        bulk("3")
    );
    assert_bytes(
        &c.cmd(&["GRAPH.NEIGHBORS", "g", "a", "WITHWEIGHTS"]),
        with_weights.as_bytes(),
    );
    assert_bytes(
        &c.cmd(&["GRAPH.NEIGHBORS", "g", "a", "WITHWEIGHTS", "OUT"]),
        with_weights.as_bytes(),
    );
    assert_bytes(&c.cmd(&["GRAPH.NEIGHBORS", "g", "b"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DEGREE", "g", "a"]), b":3\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DEGREE", "g", "a", "IN"]), b":3\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DEGREE", "g", "a", "BOTH"]), b":6\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DEGREE", "g", "b", "OUT"]), b":0\r\n");
    // Undirected: every direction is the same; a self-loop counts once.
    add_edges(
        &mut c,
        "u",
        &[("a", "b", "1"), ("c", "a", "1"), ("a", "a", "1")],
    );
    c.cmd(&["DEL", "u"]);
    c.cmd(&["GRAPH.CREATE", "u", "UNDIRECTED"]);
    add_edges(
        &mut c,
        "u",
        &[("a", "b", "1"), ("c", "a", "1"), ("a", "a", "1")],
    );
    for direction in ["OUT", "IN", "BOTH"] {
        assert_bytes(
            &c.cmd(&["GRAPH.NEIGHBORS", "u", "a", direction]),
            &names(&["a", "b", "c"]),
        );
        assert_bytes(&c.cmd(&["GRAPH.DEGREE", "u", "a", direction]), b":3\r\n");
    }
    // Errors.
    let no_node = b"-ERR no such node 'zz'\r\n";
    assert_bytes(&c.cmd(&["GRAPH.NEIGHBORS", "g", "zz"]), no_node);
    assert_bytes(&c.cmd(&["GRAPH.NEIGHBORS", "missing", "zz"]), no_node);
    assert_bytes(&c.cmd(&["GRAPH.DEGREE", "g", "zz"]), no_node);
    assert_bytes(&c.cmd(&["GRAPH.DEGREE", "missing", "zz", "IN"]), no_node);
    let syntax = b"-ERR syntax error\r\n";
    assert_bytes(&c.cmd(&["GRAPH.NEIGHBORS", "g", "a", "UP"]), syntax);
    assert_bytes(&c.cmd(&["GRAPH.DEGREE", "g", "a", "WITHWEIGHTS"]), syntax);
    assert_bytes(&c.cmd(&["GRAPH.DEGREE", "g", "a", "sideways"]), syntax);
}

#[test]
fn traversals() {
    let server = Server::start();
    let mut c = server.raw();
    // a -> {c, b}, b -> d, c -> d, d -> e; f alone.
    add_edges(
        &mut c,
        "g",
        &[
            ("a", "c", "1"),
            ("a", "b", "1"),
            ("b", "d", "1"),
            ("c", "d", "1"),
            ("d", "e", "1"),
        ],
    );
    c.cmd(&["GRAPH.ADDNODE", "g", "f"]);
    assert_bytes(
        &c.cmd(&["GRAPH.BFS", "g", "a"]),
        &names(&["a", "b", "c", "d", "e"]),
    );
    assert_bytes(
        &c.cmd(&["GRAPH.BFS", "g", "a", "MAXDEPTH", "1"]),
        &names(&["a", "b", "c"]),
    );
    assert_bytes(
        &c.cmd(&["GRAPH.BFS", "g", "a", "maxdepth", "0"]),
        &names(&["a"]),
    );
    assert_bytes(
        &c.cmd(&["GRAPH.BFS", "g", "a", "WITHDEPTH", "MAXDEPTH", "2"]),
        b"*8\r\n$1\r\na\r\n:0\r\n$1\r\nb\r\n:1\r\n$1\r\nc\r\n:1\r\n$1\r\nd\r\n:2\r\n",
    );
    assert_bytes(&c.cmd(&["GRAPH.BFS", "g", "f"]), &names(&["f"]));
    assert_bytes(&c.cmd(&["GRAPH.BFS", "g", "e"]), &names(&["e"]));
    assert_bytes(
        &c.cmd(&["GRAPH.DFS", "g", "a"]),
        &names(&["a", "b", "d", "e", "c"]),
    );
    assert_bytes(&c.cmd(&["GRAPH.DFS", "g", "d"]), &names(&["d", "e"]));
    assert_bytes(
        &c.cmd(&["GRAPH.COMPONENTS", "g"]),
        format!(
            "*2\r\n{}{}",
            String::from_utf8_lossy(&names(&["a", "b", "c", "d", "e"])),
            String::from_utf8_lossy(&names(&["f"]))
        )
        .as_bytes(),
    );
    assert_bytes(
        &c.cmd(&["GRAPH.TOPOSORT", "g"]),
        &names(&["a", "b", "c", "d", "e", "f"]),
    );
    // Errors.
    let no_node = b"-ERR no such node 'zz'\r\n";
    assert_bytes(&c.cmd(&["GRAPH.BFS", "g", "zz"]), no_node);
    assert_bytes(&c.cmd(&["GRAPH.DFS", "g", "zz"]), no_node);
    assert_bytes(&c.cmd(&["GRAPH.BFS", "missing", "zz"]), no_node);
    assert_bytes(&c.cmd(&["GRAPH.DFS", "missing", "zz"]), no_node);
    assert_bytes(
        &c.cmd(&["GRAPH.BFS", "g", "a", "MAXDEPTH", "-1"]),
        b"-ERR MAXDEPTH must not be negative\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.BFS", "g", "a", "MAXDEPTH", "deep"]),
        b"-ERR value is not an integer or out of range\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.BFS", "g", "a", "MAXDEPTH"]),
        b"-ERR syntax error\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.BFS", "g", "a", "WIDE"]),
        b"-ERR syntax error\r\n",
    );
    // A cycle: TOPOSORT names it, from its smallest node, back to that node.
    add_edges(&mut c, "g", &[("e", "c", "1")]);
    assert_bytes(
        &c.cmd(&["GRAPH.TOPOSORT", "g"]),
        b"-ERR graph contains a cycle: c -> d -> e -> c\r\n",
    );
    add_edges(&mut c, "loop", &[("x", "x", "1")]);
    assert_bytes(
        &c.cmd(&["GRAPH.TOPOSORT", "loop"]),
        b"-ERR graph contains a cycle: x -> x\r\n",
    );
    c.cmd(&["GRAPH.CREATE", "u", "UNDIRECTED"]);
    assert_bytes(
        &c.cmd(&["GRAPH.TOPOSORT", "u"]),
        b"-ERR operation requires a directed graph\r\n",
    );
    // Undirected components and traversals follow edges both ways.
    add_edges(&mut c, "u", &[("b", "a", "1"), ("d", "c", "1")]);
    assert_bytes(&c.cmd(&["GRAPH.BFS", "u", "a"]), &names(&["a", "b"]));
    assert_bytes(
        &c.cmd(&["GRAPH.COMPONENTS", "u"]),
        format!(
            "*2\r\n{}{}",
            String::from_utf8_lossy(&names(&["a", "b"])),
            String::from_utf8_lossy(&names(&["c", "d"]))
        )
        .as_bytes(),
    );
}

#[test]
fn shortest_path_replies() {
    let server = Server::start();
    let mut c = server.raw();
    add_edges(
        &mut c,
        "g",
        &[
            ("a", "b", "1"),
            ("b", "d", "1"),
            ("a", "c", "1"),
            ("c", "d", "1"),
            ("a", "d", "2.5"),
        ],
    );
    c.cmd(&["GRAPH.ADDNODE", "g", "lone"]);
    // Two cheapest paths of cost 2: the tie goes to the smaller name (b).
    let found = format!(
        "*2\r\n{}{}",
        String::from_utf8_lossy(&names(&["a", "b", "d"])),
        bulk("2")
    );
    assert_bytes(
        &c.cmd(&["GRAPH.SHORTESTPATH", "g", "a", "d"]),
        found.as_bytes(),
    );
    let itself = format!(
        "*2\r\n{}{}",
        String::from_utf8_lossy(&names(&["a"])),
        bulk("0")
    );
    assert_bytes(
        &c.cmd(&["GRAPH.SHORTESTPATH", "g", "a", "a"]),
        itself.as_bytes(),
    );
    assert_bytes(&c.cmd(&["GRAPH.SHORTESTPATH", "g", "d", "a"]), b"*-1\r\n");
    assert_bytes(
        &c.cmd(&["GRAPH.SHORTESTPATH", "g", "a", "lone"]),
        b"*-1\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.SHORTESTPATH", "g", "a", "zz"]),
        b"-ERR no such node 'zz'\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.SHORTESTPATH", "g", "zz", "a"]),
        b"-ERR no such node 'zz'\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.SHORTESTPATH", "missing", "a", "b"]),
        b"-ERR no such node 'a'\r\n",
    );
    // Fractional costs print as doubles.
    add_edges(&mut c, "f", &[("a", "b", "0.5"), ("b", "c", "0.25")]);
    let found = format!(
        "*2\r\n{}{}",
        String::from_utf8_lossy(&names(&["a", "b", "c"])),
        bulk("0.75")
    );
    assert_bytes(
        &c.cmd(&["GRAPH.SHORTESTPATH", "f", "a", "c"]),
        found.as_bytes(),
    );
}

#[test]
fn resp3_reply_shapes() {
    let server = Server::start();
    let mut c = server.raw();
    resp3(&mut c);
    add_edges(
        &mut c,
        "g",
        &[("a", "b", "1.5"), ("a", "c", "2"), ("b", "c", "1")],
    );
    assert_bytes(
        &c.cmd(&["GRAPH.NEIGHBORS", "g", "a", "WITHWEIGHTS"]),
        b"*2\r\n*2\r\n$1\r\nb\r\n,1.5\r\n*2\r\n$1\r\nc\r\n,2\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.NEIGHBORS", "g", "a"]),
        b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.EDGES", "g"]),
        b"*3\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n,1.5\r\n*3\r\n$1\r\na\r\n$1\r\nc\r\n,2\r\n\
          *3\r\n$1\r\nb\r\n$1\r\nc\r\n,1\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.BFS", "g", "a", "WITHDEPTH"]),
        b"*3\r\n*2\r\n$1\r\na\r\n:0\r\n*2\r\n$1\r\nb\r\n:1\r\n*2\r\n$1\r\nc\r\n:1\r\n",
    );
    assert_bytes(
        &c.cmd(&["GRAPH.SHORTESTPATH", "g", "a", "c"]),
        b"*2\r\n*2\r\n$1\r\na\r\n$1\r\nc\r\n,2\r\n",
    );
    assert_bytes(&c.cmd(&["GRAPH.SHORTESTPATH", "g", "c", "a"]), b"_\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "g", "a", "b"]), b":1\r\n");
}

#[test]
fn missing_keys_read_as_empty_graphs() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["GRAPH.NODES", "none"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.EDGES", "none"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.COMPONENTS", "none"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.TOPOSORT", "none"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "none", "a", "b"]), b":0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DELEDGE", "none", "a", "b"]), b":0\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DELNODE", "none", "a"]), b":0\r\n");
    assert_bytes(&c.cmd(&["DBSIZE"]), b":0\r\n");
}

#[test]
fn wrong_types_and_arity() {
    let server = Server::start();
    let mut c = server.raw();
    c.cmd(&["SET", "s", "v"]);
    for args in [
        &["GRAPH.ADDNODE", "s", "a"][..],
        &["GRAPH.DELNODE", "s", "a"],
        &["GRAPH.ADDEDGE", "s", "a", "b"],
        &["GRAPH.DELEDGE", "s", "a", "b"],
        &["GRAPH.HASEDGE", "s", "a", "b"],
        &["GRAPH.NEIGHBORS", "s", "a"],
        &["GRAPH.DEGREE", "s", "a"],
        &["GRAPH.NODES", "s"],
        &["GRAPH.EDGES", "s"],
        &["GRAPH.BFS", "s", "a"],
        &["GRAPH.DFS", "s", "a"],
        &["GRAPH.SHORTESTPATH", "s", "a", "b"],
        &["GRAPH.COMPONENTS", "s"],
        &["GRAPH.TOPOSORT", "s"],
    ] {
        assert_bytes(&c.cmd(args), WRONGTYPE);
    }
    c.cmd(&["GRAPH.ADDEDGE", "g", "a", "b"]);
    for args in [
        &["GET", "g"][..],
        &["QUEUE.PUSH", "g", "x"],
        &["STACK.LEN", "g"],
    ] {
        assert_bytes(&c.cmd(args), WRONGTYPE);
    }
    for (args, name) in [
        (&["GRAPH.CREATE"][..], "graph.create"),
        (&["GRAPH.ADDNODE", "g"], "graph.addnode"),
        (&["GRAPH.DELNODE", "g"], "graph.delnode"),
        (&["GRAPH.ADDEDGE", "g", "a"], "graph.addedge"),
        (&["GRAPH.DELEDGE", "g", "a"], "graph.deledge"),
        (&["GRAPH.DELEDGE", "g", "a", "b", "c"], "graph.deledge"),
        (&["GRAPH.HASEDGE", "g", "a"], "graph.hasedge"),
        (&["GRAPH.NEIGHBORS", "g"], "graph.neighbors"),
        (&["GRAPH.DEGREE", "g"], "graph.degree"),
        (&["GRAPH.NODES"], "graph.nodes"),
        (&["GRAPH.EDGES", "g", "x"], "graph.edges"),
        (&["GRAPH.BFS", "g"], "graph.bfs"),
        (&["GRAPH.DFS", "g", "a", "b"], "graph.dfs"),
        (&["GRAPH.SHORTESTPATH", "g", "a"], "graph.shortestpath"),
        (&["GRAPH.COMPONENTS"], "graph.components"),
        (&["GRAPH.TOPOSORT", "g", "x"], "graph.toposort"),
    ] {
        let expected = format!("-ERR wrong number of arguments for '{name}' command\r\n");
        assert_bytes(&c.cmd(args), expected.as_bytes());
    }
}

#[test]
fn generic_key_commands_work_on_graphs() {
    let server = Server::start();
    let mut c = server.raw();
    add_edges(&mut c, "g", &[("a", "b", "2")]);
    assert_bytes(&c.cmd(&["OBJECT", "ENCODING", "g"]), b"$9\r\nadjacency\r\n");
    assert_bytes(&c.cmd(&["COPY", "g", "h"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GRAPH.DELNODE", "h", "a"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "g", "a", "b"]), b":1\r\n");
    assert_bytes(&c.cmd(&["RENAME", "g", "r"]), b"+OK\r\n");
    assert_bytes(&c.cmd(&["GRAPH.HASEDGE", "r", "a", "b"]), b":1\r\n");
    assert_bytes(&c.cmd(&["EXISTS", "g", "r", "h"]), b":2\r\n");
    c.cmd(&["SET", "plain", "v"]);
    let scanned = c.cmd(&["SCAN", "0", "TYPE", "graph"]);
    assert!(
        scanned == b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nh\r\n$1\r\nr\r\n"
            || scanned == b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nr\r\n$1\r\nh\r\n",
        "{}",
        common::escape(&scanned)
    );
    assert_bytes(&c.cmd(&["PEXPIRE", "r", "50"]), b":1\r\n");
    sleep(Duration::from_millis(80));
    assert_bytes(&c.cmd(&["GRAPH.NODES", "r"]), b"*0\r\n");
    assert_bytes(&c.cmd(&["DEL", "h", "r"]), b":1\r\n");
    assert_bytes(&c.cmd(&["DBSIZE"]), b":1\r\n");
}

#[test]
fn command_table_lists_the_native_types() {
    let server = Server::start();
    let mut con = server.client();
    let info: redis::Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("graph.shortestpath")
        .arg("queue.bpop")
        .arg("stack.push")
        .query(&mut con)
        .expect("command info");
    let text = format!("{info:?}");
    for expected in ["graph.shortestpath", "queue.bpop", "stack.push", "blocking"] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
    let docs: redis::Value = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg("graph.bfs")
        .query(&mut con)
        .expect("command docs");
    let text = format!("{docs:?}");
    for expected in [
        "graph.bfs",
        "\"group\"'), bulk-string('\"graph\"'",
        "\"MAXDEPTH\"",
        "\"WITHDEPTH\"",
    ] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
    let mut raw = server.raw();
    assert_bytes(
        &raw.cmd(&["COMMAND", "GETKEYS", "QUEUE.BPOP", "a", "b", "0"]),
        &names(&["a", "b"]),
    );
}

#[test]
fn redis_crate_client_round_trip() {
    let server = Server::start();
    let mut con = server.client();
    for (from, to, weight) in [
        ("home", "work", 5.0),
        ("home", "gym", 1.0),
        ("gym", "work", 2.5),
    ] {
        let added: i64 = redis::cmd("GRAPH.ADDEDGE")
            .arg("city")
            .arg(from)
            .arg(to)
            .arg("WEIGHT")
            .arg(weight)
            .query(&mut con)
            .expect("addedge");
        assert_eq!(added, 1);
    }
    let (path, cost): (Vec<String>, f64) = redis::cmd("GRAPH.SHORTESTPATH")
        .arg("city")
        .arg("home")
        .arg("work")
        .query(&mut con)
        .expect("shortestpath");
    assert_eq!(path, vec!["home", "gym", "work"]);
    assert_eq!(cost, 3.5);
    let nodes: Vec<String> = redis::cmd("GRAPH.NODES")
        .arg("city")
        .query(&mut con)
        .expect("nodes");
    assert_eq!(nodes, vec!["gym", "home", "work"]);
    let err = redis::cmd("GRAPH.DFS")
        .arg("city")
        .arg("moon")
        .query::<redis::Value>(&mut con)
        .expect_err("missing node");
    assert!(err.to_string().contains("no such node 'moon'"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// A large random graph against a reference Dijkstra
// ---------------------------------------------------------------------------------------------

/// splitmix64: a fixed-seed generator, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// CPU time the process has used so far (all its threads), where /proc tells (Linux). On a
/// busy machine this is steadier than wall time for what a command costs the server.
fn process_cpu(pid: u32) -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

/// Sends `commands` pipelined in batches and checks every reply is one of `accepted`.
fn pipeline(conn: &mut RawConn, commands: &[Vec<Vec<u8>>], accepted: &[&[u8]]) {
    for batch in commands.chunks(5_000) {
        let mut bytes = Vec::new();
        for command in batch {
            bytes.extend(encode_command(command));
        }
        conn.send(&bytes);
        for _ in batch {
            let reply = conn.read_reply();
            assert!(
                accepted.contains(&reply.as_slice()),
                "{}",
                common::escape(&reply)
            );
        }
    }
}

/// The reference: Dijkstra from `source` until the target is settled, then the path rebuilt
/// from the target backwards, always through the smallest-named predecessor on a cheapest path
/// (the tie rule `GraphValue::shortest_path` documents for graphs without zero weights).
fn reference_path(
    out_edges: &[Vec<(u32, u64)>],
    in_edges: &[Vec<(u32, u64)>],
    node_names: &[String],
    source: u32,
    target: u32,
) -> Option<(Vec<u32>, u64)> {
    let mut dist = vec![u64::MAX; node_names.len()];
    let mut heap = BinaryHeap::new();
    dist[source as usize] = 0;
    heap.push(Reverse((0u64, source)));
    while let Some(Reverse((d, node))) = heap.pop() {
        if d > dist[node as usize] {
            continue;
        }
        // Every node on a cheapest path to the target is cheaper than it (weights are at
        // least 1), hence final by now.
        if node == target {
            break;
        }
        for &(next, w) in &out_edges[node as usize] {
            let candidate = d + w;
            if candidate < dist[next as usize] {
                dist[next as usize] = candidate;
                heap.push(Reverse((candidate, next)));
            }
        }
    }
    if dist[target as usize] == u64::MAX {
        return None;
    }
    let mut path = vec![target];
    let mut at = target;
    while at != source {
        let best = in_edges[at as usize]
            .iter()
            .filter(|&&(prev, w)| {
                dist[prev as usize] != u64::MAX && dist[prev as usize] + w == dist[at as usize]
            })
            .map(|&(prev, _)| prev)
            .min_by(|&a, &b| node_names[a as usize].cmp(&node_names[b as usize]))?;
        path.push(best);
        at = best;
    }
    path.reverse();
    Some((path, dist[target as usize]))
}

/// GRAPH.SHORTESTPATH on a random directed graph (100,000 nodes and 1,000,000 edges in a
/// release build; a tenth of that in a debug build) with integer weights 1..=100, so many
/// cheapest paths tie and the name rule is exercised. Every answer is compared with the
/// reference; the time per query through the server is printed.
#[test]
fn shortest_path_on_a_large_random_graph_matches_a_reference() {
    let (node_count, edge_count, queries) = if cfg!(debug_assertions) {
        (10_000u32, 100_000usize, 20usize)
    } else {
        (100_000u32, 1_000_000usize, 200usize)
    };
    let node_names: Vec<String> = (0..node_count).map(|i| format!("n{i}")).collect();
    let mut rng = Rng(0x5EED_6AA9);
    // Later duplicates overwrite the weight, as GRAPH.ADDEDGE does.
    let mut edges: HashMap<(u32, u32), u64> = HashMap::with_capacity(edge_count);
    let mut commands = Vec::with_capacity(edge_count);
    for _ in 0..edge_count {
        let from = rng.below(node_count as u64) as u32;
        let to = rng.below(node_count as u64) as u32;
        let weight = 1 + rng.below(100);
        edges.insert((from, to), weight);
        commands.push(vec![
            b"GRAPH.ADDEDGE".to_vec(),
            b"big".to_vec(),
            node_names[from as usize].clone().into_bytes(),
            node_names[to as usize].clone().into_bytes(),
            b"WEIGHT".to_vec(),
            weight.to_string().into_bytes(),
        ]);
    }
    let mut out_edges = vec![Vec::new(); node_count as usize];
    let mut in_edges = vec![Vec::new(); node_count as usize];
    for (&(from, to), &weight) in &edges {
        out_edges[from as usize].push((to, weight));
        in_edges[to as usize].push((from, weight));
    }

    let server = Server::start();
    let mut conn = server.raw();
    conn.set_timeout(Duration::from_secs(60));
    let load_started = Instant::now();
    pipeline(&mut conn, &commands, &[b":1\r\n", b":0\r\n"]);
    let load_time = load_started.elapsed();
    // Nodes every edge missed are absent from the server: add them all so any pair is valid.
    let all_nodes: Vec<Vec<Vec<u8>>> = node_names
        .chunks(1_000)
        .map(|chunk| {
            let mut command = vec![b"GRAPH.ADDNODE".to_vec(), b"big".to_vec()];
            command.extend(chunk.iter().map(|n| n.clone().into_bytes()));
            command
        })
        .collect();
    for command in &all_nodes {
        conn.send(&encode_command(command));
        let reply = conn.read_reply();
        assert!(reply.starts_with(b":"), "{}", common::escape(&reply));
    }
    let isolated = "isolated";
    assert_bytes(&conn.cmd(&["GRAPH.ADDNODE", "big", isolated]), b":1\r\n");

    let mut total = Duration::ZERO;
    let mut server_cpu = Duration::ZERO;
    let mut slowest = Duration::ZERO;
    let mut reachable = 0;
    for _ in 0..queries {
        let source = rng.below(node_count as u64) as u32;
        let target = rng.below(node_count as u64) as u32;
        let args = [
            "GRAPH.SHORTESTPATH",
            "big",
            &node_names[source as usize],
            &node_names[target as usize],
        ];
        let cpu_before = process_cpu(server.pid());
        let started = Instant::now();
        let reply = conn.cmd(&args);
        let took = started.elapsed();
        if let (Some(before), Some(after)) = (cpu_before, process_cpu(server.pid())) {
            server_cpu += after.saturating_sub(before);
        }
        total += took;
        slowest = slowest.max(took);
        let expected = match reference_path(&out_edges, &in_edges, &node_names, source, target) {
            Some((path, cost)) => {
                reachable += 1;
                let shown: Vec<&str> = path
                    .iter()
                    .map(|&i| node_names[i as usize].as_str())
                    .collect();
                format!(
                    "*2\r\n{}{}",
                    String::from_utf8_lossy(&names(&shown)),
                    bulk(&cost.to_string())
                )
                .into_bytes()
            }
            None => b"*-1\r\n".to_vec(),
        };
        assert_bytes(&reply, &expected);
    }
    assert!(
        reachable > queries / 2,
        "only {reachable} of {queries} pairs connected"
    );
    assert_bytes(
        &conn.cmd(&["GRAPH.SHORTESTPATH", "big", "n0", isolated]),
        b"*-1\r\n",
    );
    let build = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    println!(
        "GRAPH.SHORTESTPATH on {node_count} nodes / {} distinct edges ({build}): {:.3} ms per \
         query (wall, round trip) and {:.3} ms of server CPU, on average over {queries} random \
         pairs ({reachable} reachable), slowest {:.3} ms; loading {edge_count} pipelined \
         GRAPH.ADDEDGE took {:.2} s",
        edges.len(),
        total.as_secs_f64() * 1000.0 / queries as f64,
        server_cpu.as_secs_f64() * 1000.0 / queries as f64,
        slowest.as_secs_f64() * 1000.0,
        load_time.as_secs_f64(),
    );
}
