//! Client-side caching (CLIENT TRACKING) through real connections, byte for byte against a
//! real redis-server: RESP3 invalidation pushes and where they fall relative to replies,
//! redirection to RESP2 subscribers and RESP3 clients, BCAST prefixes, NOLOOP, OPTIN/OPTOUT,
//! flushes, expiry, the tracking table's bound, and the introspection around them.

mod common;

use common::{assert_bytes, encode_command, escape, split_args, RawConn, RedisServer, Server};
use std::thread;
use std::time::Duration;

/// One step of a multi-connection session: on connection `conn`, send `command` (nothing
/// when empty) and read `replies` replies (pushes count as replies). In a command, `$ID<n>`
/// stands for connection n's client id; in replies naming a client, its id is shown as
/// `ID<n>`, so servers that number clients differently compare equal. A command starting with
/// `~` has its replies read but not compared (random choices); `@sleep MS` waits.
type Step<'a> = (usize, &'a str, usize);

/// A session's connections on one server, each with its client id.
struct Session<'a> {
    server: &'a Server,
    conns: Vec<(RawConn, String)>,
}

impl Session<'_> {
    fn conn(&mut self, index: usize) -> &mut RawConn {
        while self.conns.len() <= index {
            let mut conn = self.server.raw();
            let reply = conn.cmd(&["CLIENT", "ID"]);
            let id = String::from_utf8_lossy(&reply[1..reply.len() - 2]).into_owned();
            self.conns.push((conn, id));
        }
        &mut self.conns[index].0
    }

    /// `command` with `$ID<n>` replaced by connection n's id.
    fn expand(&mut self, command: &str) -> String {
        let mut command = command.to_string();
        for index in (0..10).rev() {
            let placeholder = format!("$ID{index}");
            if command.contains(&placeholder) {
                self.conn(index);
                command = command.replace(&placeholder, &self.conns[index].1);
            }
        }
        command
    }

    /// `reply` with each connection's id shown as `ID<n>` where a reply names a client:
    /// a whole integer reply when `whole` (CLIENT GETREDIR, CLIENT ID), HELLO's `id`, the
    /// redirect of TRACKINGINFO and tracking-redir-broken, CLIENT LIST fields.
    fn normalize(&self, reply: Vec<u8>, whole: bool) -> String {
        let quoted = escape(&reply);
        let mut text = quoted.trim_matches('"').to_string();
        for (index, (_, id)) in self.conns.iter().enumerate() {
            if whole && text == format!(":{id}\\r\\n") {
                return format!(":ID{index}\\r\\n");
            }
            for (before, after) in [
                ("redirect\\r\\n:", "\\r\\n"),
                ("$2\\r\\nid\\r\\n:", "\\r\\n"),
                ("tracking-redir-broken\\r\\n:", "\\r\\n"),
                ("redir=", " "),
                (" id=", " "),
            ] {
                text = text.replace(
                    &format!("{before}{id}{after}"),
                    &format!("{before}ID{index}{after}"),
                );
            }
        }
        text
    }
}

/// Runs `steps` against a fresh Reddish and a fresh redis-server and panics at the first
/// reply that differs; returns Reddish's replies (normalized) for further assertions.
/// Replies are read with a timeout, so a missing push fails too, and nothing may be left
/// unread at the end.
#[track_caller]
fn same_as_redis(steps: &[Step]) -> Vec<String> {
    same_as_redis_with(&[], steps)
}

#[track_caller]
fn same_as_redis_with(args: &[&str], steps: &[Step]) -> Vec<String> {
    let reddish = Server::start_with(args);
    let redis = RedisServer::start_with(args);
    let mut ours = Session {
        server: &reddish,
        conns: Vec::new(),
    };
    let mut theirs = Session {
        server: &redis,
        conns: Vec::new(),
    };
    let mut transcript = Vec::new();
    for (index, &(conn, command, replies)) in steps.iter().enumerate() {
        if let Some(ms) = command.strip_prefix("@sleep ") {
            thread::sleep(Duration::from_millis(ms.parse().expect("@sleep ms")));
            continue;
        }
        ours.conn(conn);
        theirs.conn(conn);
        let compare = !command.starts_with('~');
        let command = command.trim_start_matches('~');
        let whole = command.contains("GETREDIR") || command.contains("CLIENT ID");
        if !command.is_empty() {
            for session in [&mut ours, &mut theirs] {
                let expanded = session.expand(command);
                let args = split_args(&expanded).expect("bad step");
                session.conn(conn).send(&encode_command(&args));
            }
        }
        for n in 0..replies {
            let expected = theirs
                .conn(conn)
                .read_reply_within(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("redis-server, step {index} ({command}): {e}"));
            let actual = ours
                .conn(conn)
                .read_reply_within(Duration::from_secs(5))
                .unwrap_or_else(|e| format!("<{e}>").into_bytes());
            let expected = theirs.normalize(expected, whole);
            let actual = ours.normalize(actual, whole);
            assert!(
                !compare || expected == actual,
                "step {index} (conn {conn}: {command}), reply {n}:\n  redis:   {expected}\n  \
                 reddish: {actual}"
            );
            transcript.push(actual);
        }
    }
    for conn in 0..ours.conns.len() {
        let extra_ours = ours.conn(conn).read_available(Duration::from_millis(100));
        let extra_theirs = theirs.conn(conn).read_available(Duration::from_millis(100));
        assert!(
            extra_ours == extra_theirs,
            "conn {conn} leftovers differ: redis {} reddish {}",
            escape(&extra_theirs),
            escape(&extra_ours)
        );
    }
    transcript
}

const PUSH_A: &str = ">2\\r\\n$10\\r\\ninvalidate\\r\\n*1\\r\\n$1\\r\\na\\r\\n";

#[test]
fn resp3_pushes_for_keys_read_then_changed_by_others() {
    let transcript = same_as_redis(&[
        (0, "HELLO 3", 1),
        (0, "CLIENT TRACKING ON", 1),
        (1, "SET a 1", 1),
        (0, "GET a", 1),
        (0, "MGET b c", 1),
        // A key written before being read again is announced once.
        (1, "SET a 2", 1),
        (1, "SET a 3", 1),
        (0, "", 1),
        (1, "MSET b 1 c 1", 1),
        (0, "", 2),
        (0, "GET a", 1),
        (1, "INCR a", 1),
        (0, "PING", 2),
        // Keys are not per database.
        (0, "SELECT 1", 1),
        (0, "GET a", 1),
        (1, "SET a x", 1),
        (0, "", 1),
        (0, "HSET h f v", 1),
        (0, "HGET h f", 1),
        (1, "FLUSHALL", 1),
        (0, "", 1),
        (0, "CLIENT TRACKING OFF", 1),
        (0, "GET a", 1),
        (1, "SET a 1", 1),
        (0, "PING", 1),
    ]);
    assert_eq!(transcript[7], PUSH_A);
    assert!(
        transcript.contains(&">2\\r\\n$10\\r\\ninvalidate\\r\\n_\\r\\n".to_string()),
        "{transcript:?}"
    );
}

#[test]
fn own_changes_are_announced_after_the_reply() {
    let transcript = same_as_redis(&[
        (0, "HELLO 3", 1),
        (0, "CLIENT TRACKING ON", 1),
        (0, "HSET h f 1", 1),
        (0, "HGET h f", 1),
        (0, "HDEL h f", 2),
        (0, "MSET a 1 b 2", 1),
        (0, "GET a", 1),
        (0, "MULTI", 1),
        (0, "INCR a", 1),
        (0, "GET b", 1),
        (0, "EXEC", 2),
        (0, "GET b", 1),
        (0, "MULTI", 1),
        (0, "FLUSHDB", 1),
        (0, "EXEC", 2),
        (0, "PING", 1),
    ]);
    assert_eq!(transcript[4], ":1\\r\\n");
    assert_eq!(
        transcript[5],
        ">2\\r\\n$10\\r\\ninvalidate\\r\\n*1\\r\\n$1\\r\\nh\\r\\n"
    );
}

#[test]
fn redirect_to_a_resp2_subscriber_and_to_a_resp3_client() {
    let transcript = same_as_redis(&[
        (2, "SUBSCRIBE __redis__:invalidate", 1),
        (0, "CLIENT TRACKING ON REDIRECT $ID2", 1),
        (0, "CLIENT GETREDIR", 1),
        (1, "SET a 1", 1),
        (0, "GET a", 1),
        (1, "SET a 2", 1),
        (2, "", 1),
        (0, "GET a", 1),
        // The null of the tracking client's protocol.
        (1, "FLUSHDB", 1),
        (2, "", 1),
        (2, "UNSUBSCRIBE", 1),
        // A RESP2 client that is not subscribed gets nothing.
        (0, "GET a", 1),
        (1, "SET a 3", 1),
        (2, "PING", 1),
        (3, "HELLO 3", 1),
        (0, "CLIENT TRACKING ON REDIRECT $ID3", 1),
        (0, "GET a", 1),
        (1, "SET a 4", 1),
        (3, "", 1),
        // Several clients may redirect to the same one.
        (4, "CLIENT TRACKING ON REDIRECT $ID3", 1),
        (4, "GET b", 1),
        (0, "GET b", 1),
        (1, "SET b 1", 1),
        (3, "", 2),
    ]);
    assert_eq!(
        transcript[6],
        "*3\\r\\n$7\\r\\nmessage\\r\\n$20\\r\\n__redis__:invalidate\\r\\n*1\\r\\n$1\\r\\na\\r\\n"
    );
    assert_eq!(
        transcript[9],
        "*3\\r\\n$7\\r\\nmessage\\r\\n$20\\r\\n__redis__:invalidate\\r\\n$-1\\r\\n"
    );
}

#[test]
fn redirect_to_itself_reaches_a_resp2_subscriber() {
    same_as_redis(&[
        (0, "CLIENT TRACKING ON REDIRECT $ID0", 1),
        (0, "GET a", 1),
        (0, "SUBSCRIBE other", 1),
        (1, "SET a 1", 1),
        (0, "", 1),
        (1, "FLUSHALL", 1),
        (0, "", 1),
    ]);
}

#[test]
fn broken_redirect_is_reported_to_a_resp3_client() {
    let transcript = same_as_redis(&[
        (0, "HELLO 3", 1),
        (0, "CLIENT TRACKING ON REDIRECT $ID2", 1),
        (0, "GET a", 1),
        (2, "QUIT", 1),
        (1, "SET a 1", 1),
        (0, "", 1),
        (0, "CLIENT TRACKINGINFO", 1),
        (0, "CLIENT GETREDIR", 1),
        (0, "CLIENT TRACKING ON", 1),
        (0, "CLIENT TRACKINGINFO", 1),
    ]);
    assert_eq!(
        transcript[5],
        ">2\\r\\n$21\\r\\ntracking-redir-broken\\r\\n:ID2\\r\\n"
    );
}

#[test]
fn bcast_prefixes_batch_per_prefix_and_noloop() {
    let transcript = same_as_redis(&[
        (0, "HELLO 3", 1),
        (0, "CLIENT TRACKING ON BCAST PREFIX b: PREFIX a:", 1),
        (1, "MSET a:2 1 a:1 1 b:1 1 c:1 1", 1),
        (0, "", 2),
        (0, "CLIENT TRACKING ON BCAST PREFIX c", 1),
        (1, "DEL c:1", 1),
        (0, "", 1),
        (0, "CLIENT TRACKINGINFO", 1),
        (0, "CLIENT TRACKING OFF", 1),
        (0, "CLIENT TRACKING ON BCAST NOLOOP", 1),
        (1, "SET x 1", 1),
        (0, "", 1),
        (0, "SET y 1", 1),
        (1, "SET z 1", 1),
        (0, "", 1),
        (0, "CLIENT TRACKINGINFO", 1),
        // Broadcast clients are also told of flushes.
        (1, "FLUSHALL", 1),
        (0, "", 1),
        (0, "PING", 1),
    ]);
    assert_eq!(
        transcript[3],
        ">2\\r\\n$10\\r\\ninvalidate\\r\\n*2\\r\\n$3\\r\\na:1\\r\\n$3\\r\\na:2\\r\\n"
    );
}

#[test]
fn optin_optout_and_noloop_in_default_mode() {
    same_as_redis(&[
        (0, "HELLO 3", 1),
        (0, "CLIENT TRACKING ON OPTIN", 1),
        (0, "GET a", 1),
        (1, "SET a 1", 1),
        (0, "CLIENT CACHING YES", 1),
        (0, "CLIENT TRACKINGINFO", 1),
        (0, "GET b", 1),
        (0, "GET c", 1),
        (1, "MSET a 2 b 2 c 2", 1),
        (0, "", 1),
        (0, "CLIENT CACHING YES", 1),
        (0, "MULTI", 1),
        (0, "GET d", 1),
        (0, "GET e", 1),
        (0, "EXEC", 1),
        (1, "MSET d 1 e 1", 1),
        (0, "", 2),
        (0, "CLIENT TRACKING OFF", 1),
        (0, "CLIENT TRACKING ON OPTOUT NOLOOP", 1),
        (0, "CLIENT CACHING NO", 1),
        (0, "GET a", 1),
        (0, "GET b", 1),
        (1, "MSET a 3 b 3", 1),
        (0, "", 1),
        (0, "GET a", 1),
        // NOLOOP: not told of its own change.
        (0, "SET a 4", 1),
        (0, "PING", 1),
    ]);
}

#[test]
fn expired_keys_are_invalidated() {
    same_as_redis(&[
        (0, "HELLO 3", 1),
        (0, "CLIENT TRACKING ON", 1),
        (1, "SET a 1 PX 50", 1),
        (0, "GET a", 1),
        (0, "@sleep 300", 0),
        (0, "", 1),
        (1, "SET b 1 PX 50", 1),
        (2, "HELLO 3", 1),
        (2, "CLIENT TRACKING ON BCAST", 1),
        (0, "@sleep 300", 0),
        (2, "", 1),
    ]);
}

#[test]
fn the_table_bound_forgets_keys_and_tells_their_readers() {
    let transcript = same_as_redis(&[
        (0, "HELLO 3", 1),
        (0, "CLIENT TRACKING ON", 1),
        (0, "MGET a b c", 1),
        (0, "CONFIG SET tracking-table-max-keys 1", 1),
        (0, "@sleep 300", 0),
        (0, "~", 2),
        (0, "CONFIG GET tracking-table-max-keys", 1),
    ]);
    // Which keys go is random; that two do, each announced alone, is not.
    for push in &transcript[4..6] {
        assert!(
            push.starts_with(">2\\r\\n$10\\r\\ninvalidate\\r\\n*1\\r\\n"),
            "{push}"
        );
    }
}

#[test]
fn info_and_client_list_report_tracking() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut reports = Vec::new();
    for server in [&reddish, &redis] {
        let mut reader = server.raw();
        let mut bcast = server.raw();
        reader.cmd(&["CLIENT", "TRACKING", "ON"]);
        reader.cmd(&["MGET", "a", "b"]);
        bcast.cmd(&[
            "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "y",
        ]);
        let info = String::from_utf8_lossy(&reader.cmd(&["INFO"])).into_owned();
        let fields: Vec<String> = info
            .lines()
            .filter(|line| line.starts_with("tracking_"))
            .map(String::from)
            .collect();
        let list = String::from_utf8_lossy(&reader.cmd(&["CLIENT", "LIST"])).into_owned();
        let flags: Vec<String> = list
            .split_whitespace()
            .filter(|field| field.starts_with("flags=") || field.starts_with("redir="))
            .map(String::from)
            .collect();
        reports.push((fields, flags));
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(
        reports[0].0,
        [
            "tracking_clients:2",
            "tracking_total_keys:2",
            "tracking_total_items:2",
            "tracking_total_prefixes:2"
        ]
    );
    assert_eq!(reports[0].1, ["flags=t", "redir=0", "flags=tB", "redir=0"]);
}

#[test]
fn errors_like_redis() {
    same_as_redis(&[
        (0, "CLIENT TRACKING", 1),
        (0, "CLIENT TRACKING maybe", 1),
        (0, "CLIENT TRACKING ON NOSUCH", 1),
        (0, "CLIENT TRACKING ON REDIRECT", 1),
        (0, "CLIENT TRACKING ON REDIRECT x", 1),
        (0, "CLIENT TRACKING ON REDIRECT 987654", 1),
        (0, "CLIENT TRACKING ON REDIRECT $ID1 REDIRECT $ID1", 1),
        (0, "CLIENT TRACKING ON PREFIX a", 1),
        (0, "CLIENT TRACKING ON BCAST OPTIN", 1),
        (0, "CLIENT TRACKING ON OPTIN OPTOUT", 1),
        (0, "CLIENT TRACKING ON BCAST PREFIX FOOBAR PREFIX FOO", 1),
        (0, "CLIENT TRACKING ON BCAST PREFIX FOO PREFIX FOOBAR", 1),
        (0, "CLIENT CACHING YES", 1),
        (0, "CLIENT TRACKING ON BCAST PREFIX FOO PREFIX BAR", 1),
        (0, "CLIENT TRACKING ON BCAST PREFIX FO", 1),
        (0, "CLIENT TRACKING ON BCAST PREFIX BARB", 1),
        (0, "CLIENT TRACKING ON", 1),
        (0, "CLIENT CACHING YES", 1),
        (0, "CLIENT TRACKING OFF", 1),
        (0, "CLIENT TRACKING ON OPTIN", 1),
        (0, "CLIENT TRACKING ON OPTOUT", 1),
        (0, "CLIENT CACHING NO", 1),
        (0, "CLIENT CACHING maybe", 1),
        (0, "CLIENT CACHING", 1),
        (0, "CLIENT GETREDIR x", 1),
        (0, "CLIENT TRACKINGINFO x", 1),
        (0, "CONFIG SET tracking-table-max-keys -1", 1),
        (0, "CONFIG SET tracking-table-max-keys 1k", 1),
    ]);
}

#[test]
fn reset_turns_tracking_off() {
    let server = Server::start();
    let mut conn = server.raw();
    assert_bytes(&conn.cmd(&["CLIENT", "TRACKING", "ON"]), b"+OK\r\n");
    assert_bytes(&conn.cmd(&["CLIENT", "GETREDIR"]), b":0\r\n");
    assert_bytes(&conn.cmd(&["RESET"]), b"+RESET\r\n");
    assert_bytes(&conn.cmd(&["CLIENT", "GETREDIR"]), b":-1\r\n");
    let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "clients"])).into_owned();
    assert!(info.contains("tracking_clients:0\r\n"), "{info}");
}
