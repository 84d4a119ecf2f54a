//! The schema's tests: key finding, legacy ranges, ACL categories.

use super::*;

#[test]
fn names_are_unique_lowercase_and_arity_is_sane() {
    let mut seen = std::collections::HashSet::new();
    for spec in COMMANDS {
        assert!(seen.insert(spec.name), "duplicate {}", spec.name);
        assert_eq!(spec.name, spec.name.to_ascii_lowercase());
        assert!(spec.arity != 0, "{} has arity 0", spec.name);
        assert!(spec.name.len() <= 32);
        for sub in spec.subcommands {
            assert!(sub.full_name.starts_with(spec.name));
            assert!(sub.arity.unsigned_abs() >= 2);
        }
    }
}

#[test]
fn key_positions_extract_keys() {
    let mset = lookup(b"MSET").unwrap();
    let argv: Vec<&[u8]> = vec![b"mset", b"a", b"1", b"b", b"2"];
    assert_eq!(mset.keys(&argv), vec![&b"a"[..], b"b"]);
    let del = lookup(b"del").unwrap();
    assert_eq!(del.keys(&argv), vec![&b"a"[..], b"1", b"b", b"2"]);
    assert!(lookup(b"nosuchcommand").is_none());
}

const RO_ACCESS: KeyFlags = KeyFlags::RO.with(KeyFlags::ACCESS);
const OW_UPDATE: KeyFlags = KeyFlags::OW.with(KeyFlags::UPDATE);

fn argv(text: &str) -> Vec<&[u8]> {
    text.split_whitespace().map(str::as_bytes).collect()
}

#[test]
fn legacy_ranges_and_movable_keys_derive_from_key_specs_as_in_redis() {
    let range = |index, last, step| KeySpec::range(RO_ACCESS, index, last, step, 0);
    let keynum = KeySpec::keynum(RO_ACCESS, 2, 0, 1, 1);
    assert_eq!(legacy_range(&[]), (0, 0, 0, false));
    assert_eq!(legacy_range(&[range(1, -1, 2)]), (1, -1, 2, false));
    assert_eq!(
        legacy_range(&[range(1, 0, 1), range(2, -1, 1)]),
        (1, -1, 1, false)
    );
    assert_eq!(legacy_range(&[range(1, 0, 1), keynum]), (1, 1, 1, true));
    assert_eq!(legacy_range(&[keynum]), (0, 0, 0, true));
    // Not consecutive, or not of step 1: left out, and the keys can move.
    assert_eq!(
        legacy_range(&[range(1, 0, 1), range(3, 0, 1)]),
        (1, 1, 1, true)
    );
    let incomplete = KeySpec::range(KeyFlags::RW.with(KeyFlags::INCOMPLETE), 1, 0, 1, 0);
    assert_eq!(legacy_range(&[incomplete]), (1, 1, 1, true));
    for name in ["zunionstore", "blmpop", "sintercard"] {
        let spec = lookup(name.as_bytes()).unwrap();
        assert!(spec.flags.contains(Flags::MOVABLEKEYS), "{name}");
    }
    assert!(!lookup(b"get").unwrap().flags.contains(Flags::MOVABLEKEYS));
}

#[test]
fn numkeys_keys_come_from_the_spec_or_from_the_atoi_fallback() {
    let zunionstore = lookup(b"zunionstore").unwrap();
    assert_eq!(
        zunionstore.keys_with_flags(&argv("zunionstore d 2 a b WEIGHTS 1 2")),
        vec![(1, OW_UPDATE), (3, RO_ACCESS), (4, RO_ACCESS)]
    );
    // A count string2ll rejects but atoi reads: Redis's fallback, destination last.
    assert_eq!(
        zunionstore.keys_with_flags(&argv("zunionstore d 2x a b")),
        vec![
            (3, KeyFlags::NONE),
            (4, KeyFlags::NONE),
            (1, KeyFlags::NONE)
        ]
    );
    for bad in [
        "zunionstore d 0 a",
        "zunionstore d 3 a b",
        "zunionstore d -1 a",
    ] {
        assert!(zunionstore.keys_with_flags(&argv(bad)).is_empty(), "{bad}");
    }
    let blmpop = lookup(b"blmpop").unwrap();
    assert_eq!(blmpop.keys(&argv("blmpop 0 2 a b LEFT")), argv("a b"));
    assert!(lookup(b"set").unwrap().has_keys());
    assert!(!lookup(b"ssubscribe").unwrap().has_keys());
    assert!(!lookup(b"ping").unwrap().has_keys());
}

#[test]
fn set_flags_depend_on_get() {
    let set = lookup(b"set").unwrap();
    assert_eq!(set.keys_with_flags(&argv("set k v")), vec![(1, OW_UPDATE)]);
    let read_write = KeyFlags::RW.with(KeyFlags::ACCESS).with(KeyFlags::UPDATE);
    assert_eq!(
        set.keys_with_flags(&argv("set k v ex 1 GeT")),
        vec![(1, read_write)]
    );
    assert_eq!(
        set.keys_with_flags(&argv("set k get")),
        vec![(1, OW_UPDATE)]
    );
}

#[test]
fn bitfield_is_read_only_while_it_only_gets() {
    let bitfield = lookup(b"bitfield").unwrap();
    let read_write = KeyFlags::RW.with(KeyFlags::ACCESS).with(KeyFlags::UPDATE);
    for (text, flags) in [
        ("bitfield k", RO_ACCESS),
        ("bitfield k GET u8 0 overflow SAT", RO_ACCESS),
        ("bitfield k GET u8", read_write),
        ("bitfield k SET u8 0 1", read_write),
        ("bitfield k foo", read_write),
    ] {
        assert_eq!(
            bitfield.keys_with_flags(&argv(text)),
            vec![(1, flags)],
            "{text}"
        );
    }
}

#[test]
fn keyword_specs_search_like_redis() {
    let store = |from| {
        KeySpec::keyword(
            OW_UPDATE,
            "STORE",
            from,
            FindKeys::Range {
                last_key: 0,
                step: 1,
                limit: 0,
            },
        )
    };
    let find = |spec: KeySpec, text: &str| {
        let mut keys = Vec::new();
        spec.find_keys(&argv(text), &mut keys).map(|_| keys)
    };
    assert_eq!(find(store(2), "cmd k store d"), Ok(vec![(3, OW_UPDATE)]));
    assert_eq!(find(store(-2), "cmd k STORE d"), Ok(vec![(3, OW_UPDATE)]));
    // The last argument is not searched forwards (no key could follow it).
    assert_eq!(find(store(1), "cmd k STORE"), Ok(vec![]));
    assert_eq!(find(store(2), "cmd STORE d x"), Ok(vec![]));
    assert_eq!(find(KeySpec::unknown(RO_ACCESS), "cmd k"), Err(()));
}

#[test]
fn atoi_reads_like_c() {
    for (text, value) in [
        ("2", 2),
        (" 2x", 2),
        ("+3", 3),
        ("-1", -1),
        ("x", 0),
        ("", 0),
    ] {
        assert_eq!(atoi(text.as_bytes()), value, "{text:?}");
    }
    assert_eq!(atoi(b"4294967297"), 1, "kept in a C int");
}

#[test]
fn acl_categories_follow_flags_group_and_overrides() {
    let cats = |name: &str| lookup(name.as_bytes()).unwrap().acl_categories().join(" ");
    assert_eq!(cats("get"), "@read @string @fast");
    assert_eq!(cats("blpop"), "@write @list @slow @blocking");
    assert_eq!(cats("keys"), "@keyspace @read @slow @dangerous");
    assert_eq!(cats("client"), "@slow");
    assert_eq!(cats("queue.push"), "@write @fast @queue");
}

#[test]
fn every_row_has_its_own_dense_id() {
    let mut seen = std::collections::HashSet::new();
    for spec in COMMANDS {
        for row in std::iter::once(spec).chain(spec.subcommands.iter()) {
            assert!(row.id < row_count(), "{} is out of range", row.full_name);
            assert!(seen.insert(row.id), "{} shares an id", row.full_name);
        }
    }
    assert_eq!(seen.len(), row_count());
}

#[test]
fn internal_flags_are_not_listed() {
    let publish = lookup(b"publish").unwrap();
    assert!(publish.flags.contains(Flags::PUBLISHES));
    assert_eq!(
        publish.flags.names().collect::<Vec<_>>(),
        ["pubsub", "loading", "stale", "fast"]
    );
    let exec = lookup(b"exec").unwrap();
    assert!(exec
        .flags
        .contains(Flags::RUNS_QUEUED.with(Flags::NOT_QUEUED)));
    assert_eq!(
        exec.flags.names().collect::<Vec<_>>(),
        ["noscript", "loading", "stale", "skip_slowlog"]
    );
    let ping = lookup(b"ping").unwrap();
    assert!(ping.flags.contains(Flags::SUBSCRIBER_ALLOWED));
    assert_eq!(ping.flags.names().collect::<Vec<_>>(), ["fast"]);
}

#[test]
fn every_write_row_declares_its_journal_class() {
    use crate::commands::journal::JournalClass;
    let rows = COMMANDS
        .iter()
        .flat_map(|spec| std::iter::once(spec).chain(spec.subcommands));
    for spec in rows {
        let writes = spec.flags.contains(Flags::WRITE);
        let declared = spec.journal != JournalClass::Undeclared;
        assert_eq!(
            writes, declared,
            "{}: a row flagged write declares its journal class, and only such a row",
            spec.full_name
        );
        // Replayed and expiry-only commands name the key they change first (after the
        // subcommand's name for a subcommand).
        if matches!(spec.journal, JournalClass::Replay(_) | JournalClass::Expiry) {
            let first = if spec.full_name.contains('|') { 2 } else { 1 };
            assert_eq!(
                (spec.first_key, spec.last_key),
                (first, first),
                "{} is replayed on its first argument",
                spec.full_name
            );
        }
    }
}
