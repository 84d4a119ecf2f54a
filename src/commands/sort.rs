//! SORT and SORT_RO: option parsing, the reply, and STORE (see `store::sort` for the order).

use super::args::is_keyword;
use super::table::KeyFlags;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::store::list::ListValue;
use crate::store::sort::SortSpec;
use crate::store::Value;

pub fn sort(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    sort_generic(ctx, args, false)
}

pub fn sort_ro(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    sort_generic(ctx, args, true)
}

fn sort_generic(ctx: &mut Ctx, args: &mut Args, readonly: bool) -> CmdResult {
    let key = args.bytes()?;
    let mut spec = SortSpec::new();
    let mut store_to = None;
    // Options in any order, a later one overriding an earlier one, as Redis parses them: an
    // option missing its arguments is a syntax error, and so is STORE in SORT_RO.
    while let Some(option) = args.peek() {
        let following = args.remaining() - 1;
        args.bytes()?;
        if is_keyword(option, "asc") {
            spec.desc = false;
        } else if is_keyword(option, "desc") {
            spec.desc = true;
        } else if is_keyword(option, "alpha") {
            spec.alpha = true;
        } else if is_keyword(option, "limit") && following >= 2 {
            spec.limit_start = args.int()?;
            spec.limit_count = args.int()?;
        } else if !readonly && is_keyword(option, "store") && following >= 1 {
            store_to = Some(args.bytes()?);
        } else if is_keyword(option, "by") && following >= 1 {
            let pattern = args.bytes()?;
            spec.by = Some(pattern);
            if memchr::memchr(b'*', pattern).is_none() {
                spec.dont_sort = true;
            } else if !full_key_access(ctx, args) {
                return Err(CmdError::msg(
                    "ERR BY option of SORT denied due to insufficient ACL permissions.",
                ));
            }
        } else if is_keyword(option, "get") && following >= 1 {
            if !full_key_access(ctx, args) {
                return Err(CmdError::msg(
                    "ERR GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            spec.gets.push(args.bytes()?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    spec.storing = store_to.is_some();
    spec.in_script = ctx.client.in_script;
    let mut cold = Vec::new();
    let rows = ctx.db().sort(key, &spec, &mut cold)?;
    if !cold.is_empty() {
        return super::tiering::wait_for_values(ctx, cold);
    }
    let Some(dest) = store_to else {
        ctx.out.array(rows.len());
        for row in &rows {
            match row {
                Some(value) => ctx.out.bulk(value),
                None => ctx.out.null(),
            }
        }
        return Ok(());
    };
    let stored = rows.len();
    if stored > 0 {
        let mut list = ListValue::new();
        for row in &rows {
            list.push_back(row.as_deref().unwrap_or_default());
        }
        ctx.db().set(dest, Value::List(Box::new(list)), false);
        ctx.notify(KeyspaceEvents::LIST, "sortstore", dest);
    } else if ctx.db().remove(dest) {
        ctx.notify(KeyspaceEvents::GENERIC, "del", dest);
    }
    ctx.out.int(stored as i64);
    Ok(())
}

/// True when the connection's user may read any key with this command: BY and GET patterns
/// name keys no ACL check saw (Redis's rule).
fn full_key_access(ctx: &Ctx, args: &Args) -> bool {
    if ctx.client.acl_unrestricted {
        return true;
    }
    let argv = args.argv();
    super::acl::lookup_command(argv)
        .is_some_and(|spec| ctx.client.user.full_key_access(spec, argv, true))
}

/// SORT's key finder: the sorted key, and the destination of the last STORE. Options are
/// skipped with Redis's counts (LIMIT 2, GET 1, BY 1); STORE's argument is not skipped, as
/// Redis does not skip it either.
pub fn sort_keys(argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
    let mut keys = vec![(1, KeyFlags::RO.with(KeyFlags::ACCESS))];
    let mut store = None;
    let mut at = 2;
    while at < argv.len() {
        let arg = argv[at];
        if arg.eq_ignore_ascii_case(b"limit") {
            at += 2;
        } else if arg.eq_ignore_ascii_case(b"get") || arg.eq_ignore_ascii_case(b"by") {
            at += 1;
        } else if arg.eq_ignore_ascii_case(b"store") && at + 1 < argv.len() {
            store = Some(at + 1);
        }
        at += 1;
    }
    if let Some(at) = store {
        keys.push((at, KeyFlags::OW.with(KeyFlags::UPDATE)));
    }
    keys
}

/// SORT_RO's key finder: only the sorted key (its BY and GET keys cannot be known).
pub fn sort_ro_keys(_argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
    vec![(1, KeyFlags::RO.with(KeyFlags::ACCESS))]
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn options_and_errors_match_redis() {
        let mut h = Harness::new();
        h.run(&["rpush", "l", "3", "1", "2", "b"]);
        h.assert_replies(&[
            (
                &["sort", "l"],
                "-ERR One or more scores can't be converted into double\r\n",
            ),
            (
                &["sort", "l", "alpha", "limit", "1", "2"],
                "*2\r\n$1\r\n2\r\n$1\r\n3\r\n",
            ),
            (&["sort", "l", "limit", "0"], "-ERR syntax error\r\n"),
            (
                &["sort", "l", "limit", "a", "1"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["sort", "l", "store"], "-ERR syntax error\r\n"),
            (&["sort_ro", "l", "store", "d"], "-ERR syntax error\r\n"),
        ]);
        h.run(&["set", "s", "x"]);
        assert_eq!(
            h.text(&["sort", "s", "bogus"]),
            "-ERR syntax error\r\n",
            "options are checked before the type"
        );
        assert_eq!(
            h.text(&["sort", "s"]),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
    }

    #[test]
    fn store_writes_a_list_or_deletes_the_destination() {
        let mut h = Harness::new();
        h.run(&["sadd", "s", "3", "1", "2"]);
        h.run(&["set", "dst", "old"]);
        h.run(&["expire", "dst", "100"]);
        h.assert_replies(&[
            (&["sort", "s", "by", "nosort", "store", "dst"], ":3\r\n"),
            (
                &["lrange", "dst", "0", "-1"],
                "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
            ),
            (&["ttl", "dst"], ":-1\r\n"),
            (&["sort", "s", "get", "nokey_*", "store", "dst"], ":3\r\n"),
            (
                &["lrange", "dst", "0", "-1"],
                "*3\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n",
            ),
            (&["sort", "missing", "store", "dst"], ":0\r\n"),
            (&["exists", "dst"], ":0\r\n"),
        ]);
    }
}
