//! The latency monitor (`latency-monitor-threshold`, LATENCY LATEST/HISTORY/GRAPH/DOCTOR/RESET)
//! and latency tracking (LATENCY HISTOGRAM, INFO latencystats) against a real redis-server
//! 7.0: what depends only on the commands run is compared exactly, what depends on timing
//! by its shape.

mod common;

use common::reply::{call, items, text, Reply};
use common::{differential, RawConn, RedisServer, Server};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[test]
fn latency_configs_match_redis() {
    differential(
        r#"
        CONFIG GET latency-monitor-threshold
        CONFIG GET latency-tracking
        CONFIG GET latency-tracking-info-percentiles
        CONFIG SET latency-tracking-info-percentiles "0.0 50.0 100.0"
        CONFIG GET latency-tracking-info-percentiles
        CONFIG SET latency-tracking-info-percentiles "99.99 12.5 0.001"
        CONFIG GET latency-tracking-info-percentiles
        CONFIG SET latency-tracking-info-percentiles "10.0 50.0 a"
        CONFIG SET latency-tracking-info-percentiles "10.0 50.0 101.0"
        CONFIG SET latency-tracking-info-percentiles "-1"
        CONFIG GET latency-tracking-info-percentiles
        CONFIG SET latency-tracking-info-percentiles ""
        CONFIG GET latency-tracking-info-percentiles
        CONFIG SET latency-tracking maybe
        CONFIG SET latency-tracking no
        CONFIG GET latency-tracking
        CONFIG SET latency-monitor-threshold -1
        CONFIG SET latency-monitor-threshold abc
        CONFIG SET latency-monitor-threshold 250
        CONFIG GET latency-monitor-threshold
        LATENCY HELP
        LATENCY HELP x
        LATENCY HISTORY
        LATENCY GRAPH nosuch
        LATENCY HISTORY nosuch
        LATENCY RESET nosuch other
        LATENCY LATEST
        LATENCY DOCTOR
        "#,
    );
}

/// The map LATENCY HISTOGRAM replies, as command -> (calls, [(µs, cumulative count)]).
fn histograms(conn: &mut RawConn, args: &[&str]) -> BTreeMap<String, (i64, Vec<(i64, i64)>)> {
    let mut argv = vec!["LATENCY", "HISTOGRAM"];
    argv.extend_from_slice(args);
    let (_, flat) = items(call(conn, &argv));
    let mut result = BTreeMap::new();
    for pair in flat.chunks(2) {
        let name = text(&pair[0]);
        let (_, fields) = items(pair[1].clone());
        assert_eq!(fields.len(), 4, "{name}: {fields:?}");
        assert_eq!(text(&fields[0]), "calls");
        assert_eq!(text(&fields[2]), "histogram_usec");
        let Reply::Int(calls) = fields[1] else {
            panic!("{name}: calls {:?}", fields[1]);
        };
        let (_, flat_buckets) = items(fields[3].clone());
        let buckets = flat_buckets
            .chunks(2)
            .map(|b| match (&b[0], &b[1]) {
                (Reply::Int(usec), Reply::Int(count)) => (*usec, *count),
                other => panic!("{name}: bucket {other:?}"),
            })
            .collect();
        assert!(
            result.insert(name.clone(), (calls, buckets)).is_none(),
            "{name} twice"
        );
    }
    result
}

/// Checks one command's buckets as Redis draws them: upper bounds of power-of-two buckets
/// from 1024 ns (in µs: 1, 2, 4, 8, 16, 33, 66, 132, ...), counts rising to the calls.
fn assert_redis_buckets(name: &str, calls: i64, buckets: &[(i64, i64)]) {
    // Each bound is the top of the histogram bucket holding 2^n ns (whose width is 2^n/128),
    // and the end of the counters (1073741 µs) for runs past the last power of two.
    let mut bounds: Vec<i64> = (10..30)
        .map(|power| ((1i64 << power) * 129 / 128 - 1) / 1000)
        .collect();
    bounds.push(1_073_741);
    assert!(!buckets.is_empty(), "{name}");
    let mut previous = 0;
    for &(usec, count) in buckets {
        assert!(
            bounds.contains(&usec),
            "{name}: bucket {usec} in {buckets:?}"
        );
        assert!(count > previous, "{name}: {buckets:?}");
        previous = count;
    }
    assert_eq!(previous, calls, "{name}: {buckets:?}");
}

#[test]
fn latency_histogram_lists_what_ran_as_redis() {
    let redis = RedisServer::start();
    let ours = Server::start();
    let mut seen = Vec::new();
    for server in [&redis, &ours] {
        let mut conn = server.raw();
        let mut other = server.raw();
        call(&mut conn, &["CONFIG", "RESETSTAT"]);
        let empty = histograms(&mut conn, &[]);
        assert_eq!(
            empty.keys().collect::<Vec<_>>(),
            ["config|resetstat"],
            "CONFIG RESETSTAT is recorded after it empties the histograms"
        );
        for _ in 0..3 {
            call(&mut conn, &["SET", "a", "b"]);
        }
        call(&mut conn, &["GET", "a"]);
        call(&mut conn, &["CLIENT", "ID"]);
        call(&mut conn, &["HSET", "h", "f", "v"]);
        // A blocked command is counted once, when it is served.
        conn.send(&common::encode_command(&["BLPOP", "list", "0"]));
        std::thread::sleep(Duration::from_millis(100));
        call(&mut other, &["RPUSH", "list", "x"]);
        conn.read_reply();
        let all = histograms(&mut conn, &[]);
        for (name, (calls, buckets)) in &all {
            assert_redis_buckets(name, *calls, buckets);
        }
        let calls: BTreeMap<String, i64> = all.iter().map(|(n, (c, _))| (n.clone(), *c)).collect();
        let named = histograms(
            &mut conn,
            &["client", "blabla", "SET", "get|x", "zadd", "blpop"],
        );
        let named: Vec<(String, i64)> = named.iter().map(|(n, (c, _))| (n.clone(), *c)).collect();
        call(&mut conn, &["CONFIG", "SET", "latency-tracking", "no"]);
        call(&mut conn, &["GET", "a"]);
        let untracked = histograms(&mut conn, &["get"])["get"].0;
        seen.push((calls, named, untracked));
    }
    assert_eq!(seen[1], seen[0], "Reddish, then Redis");
    let (calls, _, untracked) = &seen[1];
    assert_eq!(calls["set"], 3);
    assert_eq!(calls["blpop"], 1);
    assert_eq!(*untracked, 1, "latency-tracking no stops recording");
}

/// INFO latencystats as field name -> percentile names.
fn latencystats(conn: &mut RawConn) -> BTreeMap<String, Vec<String>> {
    let info = text(&call(conn, &["INFO", "latencystats"]));
    info.lines()
        .filter_map(|line| line.strip_prefix("latency_percentiles_usec_"))
        .map(|line| {
            let (name, values) = line.split_once(':').expect("a field");
            let keys = values
                .split(',')
                .filter(|v| !v.is_empty())
                .map(|v| {
                    let (key, value) = v.split_once('=').expect("p=value");
                    let (whole, decimals) = value.split_once('.').expect("a decimal point");
                    assert!(
                        whole.parse::<u64>().is_ok() && decimals.len() == 3,
                        "{line}"
                    );
                    key.to_string()
                })
                .collect();
            (name.to_string(), keys)
        })
        .collect()
}

#[test]
fn info_latencystats_match_redis() {
    let redis = RedisServer::start();
    let ours = Server::start();
    let mut seen = Vec::new();
    for server in [&redis, &ours] {
        let mut conn = server.raw();
        call(&mut conn, &["CONFIG", "RESETSTAT"]);
        call(&mut conn, &["SET", "a", "b"]);
        call(&mut conn, &["CLIENT", "ID"]);
        let default = latencystats(&mut conn);
        call(
            &mut conn,
            &[
                "CONFIG",
                "SET",
                "latency-tracking-info-percentiles",
                "0.0 50.0 99.99 100",
            ],
        );
        let custom = latencystats(&mut conn);
        call(&mut conn, &["CONFIG", "SET", "latency-tracking", "no"]);
        let off = text(&call(&mut conn, &["INFO", "latencystats"]));
        call(&mut conn, &["CONFIG", "SET", "latency-tracking", "yes"]);
        call(&mut conn, &["CONFIG", "RESETSTAT"]);
        let reset = latencystats(&mut conn);
        let sections = text(&call(&mut conn, &["INFO"]));
        let everything = text(&call(&mut conn, &["INFO", "everything"]));
        seen.push((
            default,
            custom,
            off,
            reset,
            sections.contains("# Latencystats"),
            everything.contains("\r\nlatency_percentiles_usec_info:p0="),
        ));
    }
    assert_eq!(seen[1], seen[0], "Reddish, then Redis");
    assert_eq!(seen[1].0["set"], ["p50", "p99", "p99.9"]);
    assert_eq!(seen[1].1["client|id"], ["p0", "p50", "p99.99", "p100"]);
}

/// Fills `key` with `members` members of `width` bytes, in pipelined batches.
fn fill_set(conn: &mut RawConn, key: &str, members: usize, width: usize) {
    let batch = 1000;
    for start in (0..members).step_by(batch) {
        let mut args = vec!["SADD".to_string(), key.to_string()];
        args.extend((start..(start + batch).min(members)).map(|i| format!("{i:0width$}")));
        call(conn, &args.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// LATENCY LATEST as event -> (time, latest ms, max ms).
fn latest(conn: &mut RawConn) -> BTreeMap<String, (i64, i64, i64)> {
    let (_, events) = items(call(conn, &["LATENCY", "LATEST"]));
    events
        .into_iter()
        .map(|event| {
            let (_, fields) = items(event);
            match &fields[..] {
                [name, Reply::Int(time), Reply::Int(latest), Reply::Int(max)] => {
                    (text(name), (*time, *latest, *max))
                }
                other => panic!("LATENCY LATEST entry {other:?}"),
            }
        })
        .collect()
}

#[test]
fn slow_commands_and_expiry_are_latency_events() {
    let redis = RedisServer::start();
    let ours = Server::start();
    for server in [&redis, &ours] {
        let mut conn = server.raw();
        call(
            &mut conn,
            &["CONFIG", "SET", "latency-monitor-threshold", "1"],
        );
        fill_set(&mut conn, "big", 300_000, 40);
        call(&mut conn, &["LATENCY", "RESET"]);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_secs() as i64;
        // Copying 300,000 members takes well over a millisecond, on either server.
        call(&mut conn, &["SUNIONSTORE", "copy", "big"]);
        let events = latest(&mut conn);
        let (time, latest_ms, max_ms) = events["command"];
        assert!(time >= started && time <= started + 5, "{events:?}");
        assert!(latest_ms >= 1 && max_ms >= latest_ms, "{events:?}");
        // Another command slowed down by a busy machine may add a sample: the one above is
        // the newest.
        let (_, history) = items(call(&mut conn, &["LATENCY", "HISTORY", "command"]));
        assert_eq!(
            history.last(),
            Some(&Reply::Aggregate(
                b'*',
                vec![Reply::Int(time), Reply::Int(latest_ms)]
            )),
            "{history:?}"
        );
        let graph = text(&call(&mut conn, &["LATENCY", "GRAPH", "command"]));
        let mut lines = graph.lines();
        let title = lines.next().unwrap_or_default();
        assert!(
            title.starts_with("command - high ")
                && title.ends_with(&format!("(all time high {max_ms} ms)")),
            "{graph}"
        );
        assert_eq!(lines.next(), Some("-".repeat(80).as_str()), "{graph}");
        let doctor = text(&call(&mut conn, &["LATENCY", "DOCTOR"]));
        assert!(
            doctor.starts_with("Dave, I have observed latency spikes")
                && doctor.contains(". command: "),
            "{doctor}"
        );
        // Freeing 300,000 separately allocated members in the expiry cycle is slow too.
        call(&mut conn, &["PEXPIRE", "copy", "1"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !latest(&mut conn).contains_key("expire-cycle") {
            assert!(Instant::now() < deadline, "no expire-cycle event");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(call(&mut conn, &["EXISTS", "copy"]), Reply::Int(0));
        // The spike's milliseconds are in INFO's total of active-expiry time.
        let stats = text(&call(&mut conn, &["INFO", "stats"]));
        let expiry_ms: u64 = stats
            .lines()
            .find_map(|l| l.strip_prefix("expire_cycle_cpu_milliseconds:"))
            .and_then(|v| v.parse().ok())
            .expect("expire_cycle_cpu_milliseconds");
        assert!(expiry_ms >= 1, "{stats}");
        assert_eq!(
            call(&mut conn, &["LATENCY", "RESET", "COMMAND"]),
            Reply::Int(1)
        );
        assert!(!latest(&mut conn).contains_key("command"));
        // What is left: expire-cycle, and in Redis expire-del too.
        let Reply::Int(forgotten) = call(&mut conn, &["LATENCY", "RESET"]) else {
            panic!("LATENCY RESET replies an integer");
        };
        assert!(forgotten >= 1);
        assert_eq!(latest(&mut conn), BTreeMap::new());
        // Threshold 0 turns the monitor off.
        call(
            &mut conn,
            &["CONFIG", "SET", "latency-monitor-threshold", "0"],
        );
        call(&mut conn, &["SUNIONSTORE", "copy", "big"]);
        assert_eq!(latest(&mut conn), BTreeMap::new());
    }
}
