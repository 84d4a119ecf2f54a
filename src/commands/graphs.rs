//! GRAPH commands: named nodes joined by weighted edges, directed or undirected, with
//! traversals and shortest paths answered in name order (see `store::graph` for the orders
//! and tie-breaks).
//!
//! Reply shapes: node lists are arrays of names; weights and costs are doubles (bulk strings
//! in RESP2); `WITHWEIGHTS`/`WITHDEPTH` pairs are flat in RESP2 and two-element arrays in RESP3,
//! as ZRANGE's `WITHSCORES`; GRAPH.SHORTESTPATH is `[path, cost]` or a null array.

use super::args::{int_arg, is_keyword};
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;
use crate::store::graph::Direction;

/// Reads an optional `OUT|IN|BOTH` (default `OUT`) and, when allowed, `WITHWEIGHTS`, in any
/// order; the last direction given wins.
fn parse_direction(args: &mut Args, allow_weights: bool) -> Result<(Direction, bool), CmdError> {
    let mut direction = Direction::Out;
    let mut with_weights = false;
    while let Some(arg) = args.peek() {
        if is_keyword(arg, "OUT") {
            direction = Direction::Out;
        } else if is_keyword(arg, "IN") {
            direction = Direction::In;
        } else if is_keyword(arg, "BOTH") {
            direction = Direction::Both;
        } else if allow_weights && is_keyword(arg, "WITHWEIGHTS") {
            with_weights = true;
        } else {
            return Err(CmdError::Syntax);
        }
        args.bytes()?;
    }
    Ok((direction, with_weights))
}

/// Writes `(name, extra)` pairs: flat in RESP2, two-element arrays in RESP3 (as ZRANGE
/// WITHSCORES does).
fn write_pairs<T: Copy>(
    out: &mut ReplyBuf,
    pairs: &[(&[u8], T)],
    write_extra: impl Fn(&mut ReplyBuf, T),
) {
    if out.is_resp3() {
        out.array(pairs.len());
        for &(name, extra) in pairs {
            out.array(2);
            out.bulk(name);
            write_extra(out, extra);
        }
    } else {
        out.array(pairs.len() * 2);
        for &(name, extra) in pairs {
            out.bulk(name);
            write_extra(out, extra);
        }
    }
}

fn write_names(out: &mut ReplyBuf, names: &[&[u8]]) {
    out.array(names.len());
    for name in names {
        out.bulk(name);
    }
}

/// GRAPH.CREATE key [UNDIRECTED]
pub fn create(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let undirected = args.eat("UNDIRECTED");
    args.finish()?;
    if !ctx.db().graph_create(key, !undirected)? {
        return Err(CmdError::msg("ERR key already exists"));
    }
    ctx.out.ok();
    ctx.notify(KeyspaceEvents::MODULE, "graph.create", key);
    Ok(())
}

/// GRAPH.ADDNODE key node [node ...]
pub fn addnode(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let names = args.rest();
    let added = ctx.db().graph_add_nodes(key, names)?;
    ctx.out.int(added as i64);
    if added > 0 {
        ctx.notify(KeyspaceEvents::MODULE, "graph.addnode", key);
    }
    Ok(())
}

/// GRAPH.DELNODE key node [node ...]
pub fn delnode(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let names = args.rest();
    let removed = ctx.db().graph_del_nodes(key, names)?;
    ctx.out.int(removed as i64);
    if removed > 0 {
        ctx.notify(KeyspaceEvents::MODULE, "graph.delnode", key);
    }
    Ok(())
}

/// GRAPH.ADDEDGE key from to [WEIGHT weight]
pub fn addedge(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, from, to) = (args.bytes()?, args.bytes()?, args.bytes()?);
    let weight = if args.eat("WEIGHT") {
        args.float()?
    } else {
        crate::store::graph::DEFAULT_WEIGHT
    };
    args.finish()?;
    let added = ctx.db().graph_add_edge(key, from, to, weight)?;
    ctx.out.int(i64::from(added));
    // Reported for a weight update too, as HSET is for an overwrite.
    ctx.notify(KeyspaceEvents::MODULE, "graph.addedge", key);
    Ok(())
}

/// GRAPH.DELEDGE key from to
pub fn deledge(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, from, to) = (args.bytes()?, args.bytes()?, args.bytes()?);
    let removed = ctx.db().graph_del_edge(key, from, to)?;
    ctx.out.int(i64::from(removed));
    if removed {
        ctx.notify(KeyspaceEvents::MODULE, "graph.deledge", key);
    }
    Ok(())
}

/// GRAPH.HASEDGE key from to
pub fn hasedge(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, from, to) = (args.bytes()?, args.bytes()?, args.bytes()?);
    let found = ctx.db().graph_has_edge(key, from, to)?;
    ctx.out.int(i64::from(found));
    Ok(())
}

/// GRAPH.NEIGHBORS key node [OUT|IN|BOTH] [WITHWEIGHTS]
pub fn neighbors(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, node) = (args.bytes()?, args.bytes()?);
    let (direction, with_weights) = parse_direction(args, true)?;
    let mut db = ctx.ks.db(ctx.client.db);
    let found = db.graph_neighbors(key, node, direction)?;
    if with_weights {
        write_pairs(ctx.out, &found, ReplyBuf::double);
    } else {
        ctx.out.array(found.len());
        for (name, _) in found {
            ctx.out.bulk(name);
        }
    }
    Ok(())
}

/// GRAPH.DEGREE key node [OUT|IN|BOTH]
pub fn degree(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, node) = (args.bytes()?, args.bytes()?);
    let (direction, _) = parse_direction(args, false)?;
    let degree = ctx.db().graph_degree(key, node, direction)?;
    ctx.out.int(degree as i64);
    Ok(())
}

/// GRAPH.NODES key
pub fn nodes(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    write_names(ctx.out, &db.graph_nodes(key)?);
    Ok(())
}

/// GRAPH.EDGES key
pub fn edges(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    let edges = db.graph_edges(key)?;
    ctx.out.array(edges.len());
    for (from, to, weight) in edges {
        ctx.out.array(3);
        ctx.out.bulk(from);
        ctx.out.bulk(to);
        ctx.out.double(weight);
    }
    Ok(())
}

/// GRAPH.BFS key node [MAXDEPTH depth] [WITHDEPTH]
pub fn bfs(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, start) = (args.bytes()?, args.bytes()?);
    let mut max_depth = None;
    let mut with_depth = false;
    while !args.is_empty() {
        if args.eat("MAXDEPTH") {
            let depth = int_arg(args.bytes()?)?;
            let depth = usize::try_from(depth)
                .map_err(|_| CmdError::msg("ERR MAXDEPTH must not be negative"))?;
            max_depth = Some(depth);
        } else if args.eat("WITHDEPTH") {
            with_depth = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.ks.db(ctx.client.db);
    let visited = db.graph_bfs(key, start, max_depth)?;
    if with_depth {
        write_pairs(ctx.out, &visited, |out, depth| out.int(depth as i64));
    } else {
        ctx.out.array(visited.len());
        for (name, _) in visited {
            ctx.out.bulk(name);
        }
    }
    Ok(())
}

/// GRAPH.DFS key node
pub fn dfs(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, start) = (args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    write_names(ctx.out, &db.graph_dfs(key, start)?);
    Ok(())
}

/// GRAPH.SHORTESTPATH key from to
pub fn shortestpath(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, from, to) = (args.bytes()?, args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    match db.graph_shortest_path(key, from, to)? {
        Some((path, cost)) => {
            ctx.out.array(2);
            write_names(ctx.out, &path);
            ctx.out.double(cost);
        }
        None => ctx.out.null_array(),
    }
    Ok(())
}

/// GRAPH.COMPONENTS key
pub fn components(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    let components = db.graph_components(key)?;
    ctx.out.array(components.len());
    for members in &components {
        write_names(ctx.out, members);
    }
    Ok(())
}

/// GRAPH.TOPOSORT key
pub fn toposort(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    write_names(ctx.out, &db.graph_toposort(key)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    fn graph(edges: &[(&str, &str, &str)]) -> Harness {
        let mut h = Harness::new();
        for (from, to, weight) in edges {
            assert_eq!(
                h.text(&["graph.addedge", "g", from, to, "WEIGHT", weight]),
                ":1\r\n"
            );
        }
        h
    }

    #[test]
    fn create_and_build() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["graph.create", "g"], "+OK\r\n"),
            (&["graph.create", "g"], "-ERR key already exists\r\n"),
            (&["graph.create", "u", "undirected"], "+OK\r\n"),
            (&["graph.create", "x", "sideways"], "-ERR syntax error\r\n"),
            (&["type", "g"], "+graph\r\n"),
            (&["graph.addnode", "g", "a", "b", "a"], ":2\r\n"),
            (&["graph.addedge", "g", "a", "c"], ":1\r\n"),
            (&["graph.addedge", "g", "a", "c", "WEIGHT", "2.5"], ":0\r\n"),
            (&["graph.hasedge", "g", "a", "c"], ":1\r\n"),
            (&["graph.hasedge", "g", "c", "a"], ":0\r\n"),
            (&["graph.addedge", "u", "a", "c"], ":1\r\n"),
            (&["graph.hasedge", "u", "c", "a"], ":1\r\n"),
            (
                &["graph.nodes", "g"],
                "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
            ),
            (
                &["graph.edges", "g"],
                "*1\r\n*3\r\n$1\r\na\r\n$1\r\nc\r\n$3\r\n2.5\r\n",
            ),
            (&["graph.deledge", "g", "a", "c"], ":1\r\n"),
            (&["graph.deledge", "g", "a", "c"], ":0\r\n"),
            (&["graph.delnode", "g", "a", "b", "c", "z"], ":3\r\n"),
            (&["graph.nodes", "g"], "*0\r\n"),
        ]);
        assert_eq!(h.text(&["exists", "g"]), ":1\r\n", "an empty graph stays");
    }

    #[test]
    fn queries() {
        let mut h = graph(&[
            ("a", "b", "1"),
            ("a", "c", "4"),
            ("b", "c", "1"),
            ("c", "d", "1"),
        ]);
        h.assert_replies(&[
            (
                &["graph.neighbors", "g", "a"],
                "*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
            ),
            (
                &["graph.neighbors", "g", "c", "IN", "WITHWEIGHTS"],
                "*4\r\n$1\r\na\r\n$1\r\n4\r\n$1\r\nb\r\n$1\r\n1\r\n",
            ),
            (&["graph.degree", "g", "c", "both"], ":3\r\n"),
            (
                &["graph.bfs", "g", "a", "MAXDEPTH", "1", "WITHDEPTH"],
                "*6\r\n$1\r\na\r\n:0\r\n$1\r\nb\r\n:1\r\n$1\r\nc\r\n:1\r\n",
            ),
            (
                &["graph.dfs", "g", "a"],
                "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
            ),
            (
                &["graph.shortestpath", "g", "a", "d"],
                "*2\r\n*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\n3\r\n",
            ),
            (&["graph.shortestpath", "g", "d", "a"], "*-1\r\n"),
            (
                &["graph.toposort", "g"],
                "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
            ),
        ]);
        h.text(&["graph.addnode", "g", "lone"]);
        assert_eq!(
            h.text(&["graph.components", "g"]),
            "*2\r\n*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n*1\r\n$4\r\nlone\r\n"
        );
    }

    #[test]
    fn errors() {
        let mut h = graph(&[("a", "b", "1"), ("b", "a", "1")]);
        h.assert_replies(&[
            (
                &["graph.toposort", "g"],
                "-ERR graph contains a cycle: a -> b -> a\r\n",
            ),
            (
                &["graph.addedge", "g", "a", "b", "WEIGHT", "-1"],
                "-ERR edge weight must not be negative\r\n",
            ),
            (
                &["graph.addedge", "new", "a", "b", "WEIGHT", "inf"],
                "-ERR edge weight must be a finite number\r\n",
            ),
        ]);
        assert_eq!(
            h.text(&["exists", "new"]),
            ":0\r\n",
            "a refused first edge creates nothing"
        );
        h.assert_replies(&[
            (
                &["graph.addedge", "g", "a", "b", "WEIGHT", "x"],
                "-ERR value is not a valid float\r\n",
            ),
            (
                &["graph.addedge", "g", "a", "b", "WEIGHT"],
                "-ERR syntax error\r\n",
            ),
            (
                &["graph.neighbors", "g", "zz"],
                "-ERR no such node 'zz'\r\n",
            ),
            (&["graph.bfs", "missing", "a"], "-ERR no such node 'a'\r\n"),
            (
                &["graph.bfs", "g", "a", "MAXDEPTH", "-1"],
                "-ERR MAXDEPTH must not be negative\r\n",
            ),
            (
                &["graph.shortestpath", "g", "a", "zz"],
                "-ERR no such node 'zz'\r\n",
            ),
            (&["graph.degree", "g", "a", "up"], "-ERR syntax error\r\n"),
            (
                &["graph.degree", "g", "a", "WITHWEIGHTS"],
                "-ERR syntax error\r\n",
            ),
        ]);
        h.text(&["graph.create", "u", "UNDIRECTED"]);
        assert_eq!(
            h.text(&["graph.toposort", "u"]),
            "-ERR operation requires a directed graph\r\n"
        );
        h.text(&["set", "s", "v"]);
        assert_eq!(
            h.text(&["graph.nodes", "s"]),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
        assert_eq!(
            h.text(&["graph.create", "s"]),
            "-ERR key already exists\r\n"
        );
    }
}
