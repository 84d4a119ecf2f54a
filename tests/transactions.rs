//! MULTI / EXEC / DISCARD / WATCH / UNWATCH through real connections: replies compared with a
//! real redis-server, WATCH races between clients, and the `redis` crate's atomic pipelines.

mod common;

use common::{assert_bytes, differential, Server};
use std::thread;
use std::time::Duration;

#[test]
fn queueing_and_exec_like_redis() {
    differential(
        "MULTI
         MULTI
         SET a 1
         INCR a
         GET a
         EXEC
         EXEC
         DISCARD
         MULTI
         SET a x
         INCR a
         GET a
         EXEC
         MULTI
         EXEC
         MULTI
         PING
         DISCARD
         GET a
         ",
    );
}

#[test]
fn queueing_errors_abort_like_redis() {
    differential(
        "MULTI
         SET a 1
         NOSUCHCOMMAND x
         GET
         EXEC
         GET a
         MULTI
         SET a 1
         SHUTDOWN
         EXEC
         MULTI
         WATCH a
         SET a 2
         EXEC
         MULTI
         EXEC x
         EXEC
         EXEC x
         MULTI
         DISCARD x
         DISCARD
         WATCH
         MULTI
         CONFIG NOSUCH
         EXEC
         ",
    );
}

#[test]
fn watch_races_like_redis() {
    differential(
        "SET k 1
         WATCH k
         @conn 1
         SET k 2
         @conn 0
         MULTI
         GET k
         EXEC
         WATCH k
         @conn 1
         SET k 2
         @conn 0
         UNWATCH
         MULTI
         GET k
         EXEC
         WATCH k other
         @conn 1
         GET k
         SET unrelated 1
         @conn 0
         MULTI
         INCR k
         EXEC
         WATCH k
         @conn 1
         DEL k
         @conn 0
         MULTI
         PING
         EXEC
         WATCH nokey
         @conn 1
         SET nokey 1
         @conn 0
         MULTI
         PING
         EXEC
         WATCH k
         @conn 1
         EXPIRE k 100
         @conn 0
         MULTI
         PING
         EXEC
         WATCH k
         MULTI
         DISCARD
         @conn 1
         SET k 9
         @conn 0
         MULTI
         PING
         EXEC
         ",
    );
}

#[test]
fn flushes_and_expiry_break_watches_like_redis() {
    differential(
        "SET k v
         WATCH k
         FLUSHDB
         MULTI
         PING
         EXEC
         WATCH nokey
         FLUSHALL
         MULTI
         PING
         EXEC
         SET k v
         WATCH k
         @conn 1
         SELECT 1
         FLUSHDB
         @conn 0
         MULTI
         PING
         EXEC
         SET t v PX 150
         WATCH t
         @sleep 300
         MULTI
         PING
         EXEC
         SET gone v PX 10
         @sleep 50
         WATCH gone
         GET gone
         MULTI
         PING
         EXEC
         ",
    );
}

#[test]
fn select_inside_multi_and_resp3_null_like_redis() {
    differential(
        "MULTI
         SELECT 2
         SET k v
         EXEC
         GET k
         SELECT 2
         GET k
         @any HELLO 3
         WATCH k
         @conn 1
         SELECT 2
         SET k w
         @conn 0
         MULTI
         EXEC
         MULTI
         GET k
         EXEC
         ",
    );
}

/// Many clients increment one counter with WATCH/GET/MULTI/SET/EXEC retried on conflict: no
/// increment may be lost, and conflicts must actually happen.
#[test]
fn optimistic_increments_never_lose_updates() {
    const CLIENTS: usize = 6;
    const INCREMENTS: usize = 60;
    let server = Server::start();
    server.raw().cmd(&["SET", "counter", "0"]);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let mut conn = server.raw();
            thread::spawn(move || {
                let mut retries = 0;
                for _ in 0..INCREMENTS {
                    loop {
                        assert_bytes(&conn.cmd(&["WATCH", "counter"]), b"+OK\r\n");
                        let reply = conn.cmd(&["GET", "counter"]);
                        let text = String::from_utf8_lossy(&reply).into_owned();
                        let value: i64 = text.split("\r\n").nth(1).unwrap().parse().unwrap();
                        // Give the others a chance to interfere.
                        thread::yield_now();
                        assert_bytes(&conn.cmd(&["MULTI"]), b"+OK\r\n");
                        let next = (value + 1).to_string();
                        assert_bytes(&conn.cmd(&["SET", "counter", &next]), b"+QUEUED\r\n");
                        let exec = conn.cmd(&["EXEC"]);
                        if exec == b"*1\r\n+OK\r\n" {
                            break;
                        }
                        assert_bytes(&exec, b"*-1\r\n");
                        retries += 1;
                    }
                }
                retries
            })
        })
        .collect();
    let retries: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let expected = (CLIENTS * INCREMENTS).to_string();
    assert_bytes(
        &server.raw().cmd(&["GET", "counter"]),
        format!("${}\r\n{expected}\r\n", expected.len()).as_bytes(),
    );
    eprintln!("{retries} EXECs failed on a changed WATCHed key and were retried");
}

/// A transaction's commands run back to back: another client's writes never land between
/// them.
#[test]
fn exec_runs_without_interleaving() {
    let server = Server::start();
    let writer = {
        let mut conn = server.raw();
        thread::spawn(move || {
            for i in 0..2000 {
                conn.cmd(&["SET", "x", &i.to_string()]);
            }
        })
    };
    let mut conn = server.raw();
    for _ in 0..200 {
        conn.cmd(&["MULTI"]);
        conn.cmd(&["SET", "x", "mine"]);
        conn.cmd(&["GET", "x"]);
        conn.cmd(&["GET", "x"]);
        assert_bytes(
            &conn.cmd(&["EXEC"]),
            b"*3\r\n+OK\r\n$4\r\nmine\r\n$4\r\nmine\r\n",
        );
    }
    writer.join().unwrap();
}

#[test]
fn the_redis_crate_atomic_pipeline_and_transaction_helper_work() {
    let server = Server::start();
    let mut conn = server.client();
    let (a, b): (i64, String) = redis::pipe()
        .atomic()
        .cmd("INCRBY")
        .arg("n")
        .arg(5)
        .cmd("SET")
        .arg("s")
        .arg("v")
        .ignore()
        .cmd("GET")
        .arg("s")
        .query(&mut conn)
        .unwrap();
    assert_eq!((a, b.as_str()), (5, "v"));
    let mut other = server.client();
    let mut attempts = 0;
    let (n,): (i64,) = redis::transaction(&mut conn, &["n"], |conn, pipe| {
        attempts += 1;
        let n: i64 = redis::cmd("GET").arg("n").query(conn)?;
        if attempts == 1 {
            // A concurrent change makes the first attempt fail and the helper retry.
            let _: () = redis::cmd("SET").arg("n").arg(100).query(&mut other)?;
        }
        pipe.cmd("SET")
            .arg("n")
            .arg(n + 1)
            .ignore()
            .cmd("GET")
            .arg("n")
            .query(conn)
    })
    .unwrap();
    assert_eq!((n, attempts), (101, 2));
}

#[test]
fn discard_and_quit_end_the_transaction() {
    let server = Server::start();
    let mut conn = server.raw();
    conn.cmd(&["MULTI"]);
    conn.cmd(&["SET", "q", "1"]);
    assert_bytes(&conn.cmd(&["QUIT"]), b"+OK\r\n");
    assert!(conn.is_closed_within(Duration::from_secs(2)));
    let mut check = server.raw();
    assert_bytes(&check.cmd(&["GET", "q"]), b"$-1\r\n");
    check.cmd(&["MULTI"]);
    check.cmd(&["SET", "q", "1"]);
    assert_bytes(&check.cmd(&["RESET"]), b"+RESET\r\n");
    assert_bytes(&check.cmd(&["EXEC"]), b"-ERR EXEC without MULTI\r\n");
    assert_bytes(&check.cmd(&["GET", "q"]), b"$-1\r\n");
}

#[test]
fn blocking_commands_inside_exec_do_not_block_like_redis() {
    differential(
        "MULTI
         BLPOP nolist 0
         BRPOPLPUSH a b 0
         LPUSH l x
         BLPOP l 0
         EXEC
         WATCH l
         @conn 1
         LPUSH l y
         @conn 0
         MULTI
         LLEN l
         EXEC
         ",
    );
}

/// A client blocked on a list is served by a push inside a transaction, after the EXEC.
#[test]
fn exec_wakes_blocked_clients() {
    let server = Server::start();
    let mut waiter = server.raw();
    waiter.send(&common::encode_command(&["BLPOP", "jobs", "5"]));
    let mut admin = server.raw();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&admin.cmd(&["CLIENT", "LIST"])).contains("flags=b") {
        assert!(std::time::Instant::now() < deadline, "BLPOP never blocked");
        thread::sleep(Duration::from_millis(10));
    }
    admin.cmd(&["MULTI"]);
    admin.cmd(&["RPUSH", "jobs", "j1", "j2"]);
    admin.cmd(&["LLEN", "jobs"]);
    assert_bytes(&admin.cmd(&["EXEC"]), b"*2\r\n:2\r\n:2\r\n");
    assert_bytes(&waiter.read_reply(), b"*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n");
    assert_bytes(
        &admin.cmd(&["LRANGE", "jobs", "0", "-1"]),
        b"*1\r\n$2\r\nj2\r\n",
    );
}
