use super::*;
use crate::commands::testing::Harness;
use crate::commands::{lookup, resolve};

fn user(rules: &[&str]) -> User {
    let mut acl = Acl::new();
    let ops: Vec<Vec<u8>> = rules.iter().map(|r| r.as_bytes().to_vec()).collect();
    acl.set_user(b"u", &ops, false).expect("rules apply");
    (**acl.user(b"u").expect("created")).clone()
}

fn check(user: &User, argv: &[&str]) -> Result<(), Denial> {
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let spec = resolve(&argv).expect("a known command");
    user.check(spec, &argv)
}

#[test]
fn the_default_user_is_unrestricted_and_described_as_redis_does() {
    let acl = Acl::new();
    let default = acl.default_user();
    assert!(default.unrestricted());
    assert_eq!(
        default.describe_line(),
        "user default on nopass ~* &* +@all"
    );
    assert!(!acl.auth_required());
}

#[test]
fn new_users_are_off_with_no_rights() {
    let u = user(&[]);
    assert_eq!(u.describe_line(), "user u off resetchannels -@all");
    assert_eq!(check(&u, &["get", "k"]), Err(Denial::Command));
}

#[test]
fn command_rules_are_described_back_from_the_bitmap() {
    let u = user(&["+@all", "-client", "+client|id"]);
    assert_eq!(u.root().describe_commands(), "+@all -client +client|id");
    let u = user(&["+memory|doctor"]);
    assert_eq!(u.root().describe_commands(), "-@all +memory|doctor");
    let u = user(&["+memory|doctor", "+memory"]);
    assert_eq!(u.root().describe_commands(), "-@all +memory");
    let u = user(&["+@all", "-@string"]);
    assert_eq!(u.root().describe_commands(), "+@all -@string");
    let u = user(&["-@all", "+select|0"]);
    assert_eq!(u.root().describe_commands(), "-@all +select|0");
    assert_eq!(check(&u, &["select", "0"]), Ok(()));
    assert_eq!(check(&u, &["select", "1"]), Err(Denial::Command));
}

#[test]
fn key_patterns_grant_read_write_or_both() {
    let u = user(&["+@all", "%R~read*", "%W~write*", "~both*"]);
    assert_eq!(u.root().describe_keys(), b"%R~read* %W~write* ~both*");
    assert_eq!(check(&u, &["get", "read1"]), Ok(()));
    assert_eq!(check(&u, &["get", "write1"]), Err(Denial::Key(1)));
    assert_eq!(check(&u, &["lpush", "write1", "x"]), Ok(()));
    assert_eq!(check(&u, &["copy", "read1", "write1"]), Ok(()));
    assert_eq!(check(&u, &["copy", "write1", "read1"]), Err(Denial::Key(1)));
    assert_eq!(check(&u, &["set", "both1", "v"]), Ok(()));
}

#[test]
fn channels_match_as_globs_and_patterns_literally() {
    let u = user(&["+@all", "resetchannels", "&foo:*"]);
    assert_eq!(check(&u, &["publish", "foo:1", "m"]), Ok(()));
    assert_eq!(check(&u, &["publish", "bar", "m"]), Err(Denial::Channel(1)));
    assert_eq!(check(&u, &["psubscribe", "foo:*"]), Ok(()));
    assert_eq!(check(&u, &["psubscribe", "foo:1"]), Err(Denial::Channel(1)));
}

#[test]
fn selectors_are_tried_in_turn() {
    let u = user(&["on", "nopass", "(+@write ~write::*)", "(+@read ~read::*)"]);
    assert_eq!(check(&u, &["set", "write::a", "v"]), Ok(()));
    assert_eq!(check(&u, &["get", "read::a"]), Ok(()));
    assert_eq!(check(&u, &["get", "write::a"]), Err(Denial::Key(1)));
    assert!(u
        .describe_line()
        .ends_with("resetchannels -@all (~write::* resetchannels -@all +@write) (~read::* resetchannels -@all +@read)"));
}

#[test]
fn rule_errors_use_redis_words() {
    let mut acl = Acl::new();
    let bad = |acl: &mut Acl, op: &str| {
        acl.set_user(b"u", &[op.as_bytes().to_vec()], false)
            .map(|_| ())
            .map_err(|(_, e)| e.text())
    };
    assert_eq!(bad(&mut acl, "%"), Err("Syntax error"));
    assert_eq!(bad(&mut acl, "%~"), Err("Syntax error"));
    assert_eq!(
        bad(&mut acl, "+nosuch"),
        Err("Unknown command or category name in ACL")
    );
    assert_eq!(
        bad(&mut acl, "+config|get|x"),
        Err("Allowing first-arg of a subcommand is not supported")
    );
    assert_eq!(
        bad(&mut acl, "#abc"),
        Err("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
    );
    assert!(acl.user(b"u").is_none(), "a failed SETUSER creates nothing");
}

#[test]
fn passwords_are_stored_hashed() {
    let u = user(&["on", ">passwd4"]);
    assert_eq!(
        u.password_hashes(),
        ["34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"]
    );
    assert!(u.password_matches(b"passwd4"));
    assert!(!u.password_matches(b"passwd5"));
}

#[test]
fn commands_are_refused_and_logged_at_top_level_and_in_multi() {
    let mut h = Harness::new();
    h.assert_replies(&[
        (
            &[
                "acl", "setuser", "bob", "on", ">pw", "+get", "+multi", "+discard", "~k*",
            ],
            "+OK\r\n",
        ),
        (&["auth", "bob", "pw"], "+OK\r\n"),
        (
            &["acl", "whoami"],
            "-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n",
        ),
        (
            &["get", "x"],
            "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
        ),
        (&["get", "k1"], "$-1\r\n"),
        (&["multi"], "+OK\r\n"),
        (
            &["set", "k1", "v"],
            "-NOPERM this user has no permissions to run the 'set' command\r\n",
        ),
        (&["discard"], "+OK\r\n"),
        (&["auth", "default", "x"], "+OK\r\n"),
    ]);
    let log: Vec<(&str, Context, Vec<u8>)> = h
        .server
        .acl
        .log()
        .map(|e| (e.reason, e.context, e.object.clone()))
        .collect();
    assert_eq!(
        log,
        [
            ("command", Context::Multi, b"set".to_vec()),
            ("key", Context::Toplevel, b"x".to_vec()),
            ("command", Context::Toplevel, b"acl|whoami".to_vec()),
        ]
    );
    assert!(lookup(b"acl").is_some());
}

#[test]
fn acl_file_lines_load_all_or_nothing() {
    let users = parse_acl_file(
        "user alice on allcommands allkeys &* >alice\nuser default on nopass ~* &* +@all\n",
        "users.acl",
        false,
    )
    .expect("valid");
    assert_eq!(users.len(), 2);
    let err = parse_acl_file("user a on\nuser a off\nfoo\n", "users.acl", false).unwrap_err();
    assert_eq!(
        err,
        "WARNING: Duplicate user 'a' found on line 2. users.acl:3 should start with user keyword \
         followed by the username. WARNING: ACL errors detected, no change to the previously \
         active ACL rules was performed"
    );
}
