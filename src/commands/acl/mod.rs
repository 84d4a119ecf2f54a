//! ACL (Redis 7.0's): users, their rules (passwords, commands, key and channel patterns,
//! selectors), the permission check every command passes through, and the ACL log.
//!
//! This module holds no sockets and does no I/O: [`handlers`] are the ACL commands, and
//! [`crate::commands::execute`], EXEC and scripts call [`refusal`] before running a command.
//!
//! Users are shared snapshots: a change (ACL SETUSER, LOAD) builds a new [`User`] and bumps
//! [`Acl::epoch`]; a connection keeps an `Arc` of its user and picks up the new snapshot by
//! its stable [`User::uid`] the next time it runs a command with an older epoch. A connection
//! whose user may run anything and touch any key and channel is marked unrestricted, so the
//! check costs two comparisons and no allocation or hashing.

pub mod handlers;
mod rules;

pub use rules::{lookup_command, KeyPattern, RuleError, Selector, User};

use super::table::CommandSpec;
use super::{ClientState, Ctx};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Redis's command categories, in the order ACL CAT lists them.
const REDIS_CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// Why a command (or AUTH) was refused, in Redis's order of precedence (a later reason wins
/// when selectors disagree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denial {
    /// The command itself is not allowed.
    Command,
    /// The key at this argument position is not allowed.
    Key(usize),
    /// Failed authentication (only in the log).
    Auth,
    /// The channel at this argument position is not allowed.
    Channel(usize),
}

impl Denial {
    fn rank(self) -> (u8, usize) {
        match self {
            Denial::Command => (1, 0),
            Denial::Key(at) => (2, at),
            Denial::Auth => (3, 0),
            Denial::Channel(at) => (4, at),
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Denial::Command => "command",
            Denial::Key(_) => "key",
            Denial::Auth => "auth",
            Denial::Channel(_) => "channel",
        }
    }
}

/// A connection's user: a shared snapshot (see the module documentation). A connection
/// made without one starts with Redis's default user, shared, so making one allocates nothing.
#[derive(Debug, Clone)]
pub struct UserRef(Arc<User>);

impl Default for UserRef {
    fn default() -> Self {
        static DEFAULT: std::sync::OnceLock<Arc<User>> = std::sync::OnceLock::new();
        UserRef(
            DEFAULT
                .get_or_init(|| Arc::new(User::default_user(0)))
                .clone(),
        )
    }
}

impl std::ops::Deref for UserRef {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0
    }
}

impl From<Arc<User>> for UserRef {
    fn from(user: Arc<User>) -> Self {
        UserRef(user)
    }
}

/// Where a refused command was called from (ACL LOG `context`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

/// One ACL LOG entry; similar events within a minute bump `count` instead of adding entries.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub count: u64,
    pub reason: &'static str,
    pub context: Context,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// Unix ms of the latest event.
    pub at_ms: u64,
    /// The CLIENT LIST line of the client of the latest event.
    pub client_info: String,
}

/// Redis groups events at most this far apart into one entry.
const LOG_GROUPING_MS: u64 = 60_000;

/// The users and the ACL log.
#[derive(Debug)]
pub struct Acl {
    users: BTreeMap<Vec<u8>, Arc<User>>,
    /// Newest first.
    log: VecDeque<LogEntry>,
    /// Bumped by every change to any user: connections holding an older one refresh their
    /// user before the next check.
    epoch: u64,
    next_uid: u64,
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new()
    }
}

impl Acl {
    /// Only the default user, Redis's: `on nopass ~* &* +@all`.
    pub fn new() -> Self {
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), Arc::new(User::default_user(0)));
        Acl {
            users,
            log: VecDeque::new(),
            // Above the 0 of a fresh connection, so that its first command refreshes.
            epoch: 1,
            next_uid: 1,
        }
    }

    /// The current generation of the users (see the module documentation).
    #[inline]
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The default user, which new connections start as.
    pub fn default_user(&self) -> Arc<User> {
        match self.users.get(&b"default"[..]) {
            Some(user) => user.clone(),
            // Never removed (DELUSER refuses it, LOAD always keeps one); a fresh one otherwise.
            None => Arc::new(User::default_user(0)),
        }
    }

    pub fn user(&self, name: &[u8]) -> Option<&Arc<User>> {
        self.users.get(name)
    }

    /// Every user, by name (byte order, as Redis's radix tree lists them).
    pub fn users(&self) -> impl Iterator<Item = &Arc<User>> {
        self.users.values()
    }

    /// True when a connection must authenticate before running commands: the default user
    /// has a password or is off (Redis's `authRequired`).
    pub fn auth_required(&self) -> bool {
        let default = self.default_user();
        !default.nopass() || !default.enabled()
    }

    /// True when new connections start authenticated (as the default user).
    pub fn new_connection_authenticated(&self) -> bool {
        !self.auth_required()
    }

    /// True when the default user needs no password (protected mode's test).
    pub fn default_is_nopass(&self) -> bool {
        self.default_user().nopass()
    }

    fn fresh_uid(&mut self) -> u64 {
        self.next_uid += 1;
        self.next_uid
    }

    /// ACL SETUSER: applies `ops` (already merged into selectors) to a copy of `name` (a new
    /// user if absent) and installs it only if every op applies. Returns the user it replaced.
    pub fn set_user(
        &mut self,
        name: &[u8],
        ops: &[Vec<u8>],
        pubsub_default_all: bool,
    ) -> Result<Option<Arc<User>>, (Vec<u8>, RuleError)> {
        let old = self.users.get(name).cloned();
        let mut user = match &old {
            Some(old) => (**old).clone(),
            None => User::new(name, 0, pubsub_default_all),
        };
        for op in ops {
            user.apply(op, pubsub_default_all)
                .map_err(|e| (op.clone(), e))?;
        }
        user.uid = match &old {
            Some(old) => old.uid,
            None => self.fresh_uid(),
        };
        user.refresh();
        self.users.insert(name.to_vec(), Arc::new(user));
        self.epoch += 1;
        Ok(old)
    }

    /// ACL DELUSER of one user (never `default`): the removed user, if it existed.
    pub fn delete_user(&mut self, name: &[u8]) -> Option<Arc<User>> {
        let removed = self.users.remove(name);
        if removed.is_some() {
            self.epoch += 1;
        }
        removed
    }

    /// Installs a whole new set of users (ACL LOAD, start-up): the default user keeps its
    /// identity (connections using it stay), every other user is new. Returns the uids of the
    /// users that were replaced (their connections must be closed).
    pub fn replace_users(&mut self, users: Vec<User>) -> Vec<u64> {
        let default_uid = self.default_user().uid;
        let replaced: Vec<u64> = self
            .users
            .values()
            .filter(|u| u.uid != default_uid)
            .map(|u| u.uid)
            .collect();
        self.users.clear();
        for mut user in users {
            user.uid = if user.name == b"default" {
                default_uid
            } else {
                self.fresh_uid()
            };
            user.refresh();
            self.users.insert(user.name.clone(), Arc::new(user));
        }
        if !self.users.contains_key(&b"default"[..]) {
            self.users.insert(
                b"default".to_vec(),
                Arc::new(User::default_user(default_uid)),
            );
        }
        self.epoch += 1;
        replaced
    }

    /// `requirepass`: the default user's only password, or `nopass` when empty (Redis's
    /// `ACLUpdateDefaultUserPassword`).
    pub fn set_default_password(&mut self, password: Option<&[u8]>) {
        let mut user = (*self.default_user()).clone();
        // Neither op can fail.
        let _ = user.apply(b"resetpass", false);
        let op = match password {
            Some(password) => [&b">"[..], password].concat(),
            None => b"nopass".to_vec(),
        };
        let _ = user.apply(&op, false);
        user.refresh();
        self.users.insert(b"default".to_vec(), Arc::new(user));
        self.epoch += 1;
    }

    /// Checks `name`/`password` (Redis's `ACLCheckUserCredentials`): the user when they match
    /// and the user is on.
    pub fn check_credentials(&self, name: &[u8], password: &[u8]) -> Option<Arc<User>> {
        let user = self.users.get(name)?;
        (user.enabled() && user.password_matches(password)).then(|| user.clone())
    }

    /// The log, newest first.
    pub fn log(&self) -> impl Iterator<Item = &LogEntry> {
        self.log.iter()
    }

    pub fn log_len(&self) -> usize {
        self.log.len()
    }

    pub fn reset_log(&mut self) {
        self.log.clear();
    }

    /// Records a refusal as Redis's `addACLLogEntry`: a similar entry among the latest ten
    /// (same reason, context, object and user, within a minute) is bumped and moved first;
    /// otherwise a new entry goes first and the oldest beyond `max_len` go.
    pub fn add_log_entry(&mut self, entry: LogEntry, max_len: usize) {
        let similar = self.log.iter().take(10).position(|old| {
            old.reason == entry.reason
                && old.context == entry.context
                && old.at_ms.abs_diff(entry.at_ms) <= LOG_GROUPING_MS
                && old.object == entry.object
                && old.username == entry.username
        });
        if let Some(at) = similar {
            if let Some(mut old) = self.log.remove(at) {
                old.count += 1;
                old.at_ms = entry.at_ms;
                old.client_info = entry.client_info;
                self.log.push_front(old);
            }
            return;
        }
        self.log.push_front(entry);
        self.log.truncate(max_len);
    }
}

/// Brings the connection's user up to date after an ACL change: the newest snapshot of the
/// same user (by uid). A user that is gone leaves the snapshot: its connections are being
/// closed. Called only when the epochs differ.
#[cold]
pub fn refresh_client(acl: &Acl, client: &mut ClientState) {
    if let Some(current) = acl.users.get(&client.user.name) {
        if current.uid == client.user.uid {
            client.user = UserRef(current.clone());
        }
    }
    client.acl_unrestricted = client.user.unrestricted();
    client.acl_epoch = acl.epoch;
}

/// Makes `user` the connection's user (AUTH, HELLO AUTH, RESET).
pub fn set_client_user(acl: &Acl, client: &mut ClientState, user: Arc<User>) {
    client.acl_unrestricted = user.unrestricted();
    client.user = UserRef(user);
    client.acl_epoch = acl.epoch;
}

/// The context a refusal of the running connection is logged with.
fn context_of(client: &ClientState) -> Context {
    if client.multi.is_some() {
        Context::Multi
    } else {
        Context::Toplevel
    }
}

/// The check before a command runs at top level or is queued in MULTI: `None` when the
/// connection's user may run it, else Redis's NOPERM text, with the refusal logged. Costs two
/// comparisons for an unrestricted user.
#[inline]
pub fn refusal(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) -> Option<String> {
    if ctx.client.acl_epoch != ctx.server.acl.epoch() {
        refresh_client(&ctx.server.acl, ctx.client);
    }
    if ctx.client.acl_unrestricted {
        return None;
    }
    refusal_slow(ctx, spec, argv)
}

#[cold]
fn refusal_slow(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) -> Option<String> {
    let denial = ctx.client.user.check(spec, argv).err()?;
    let context = context_of(ctx.client);
    log_denial(ctx, denial, context, spec, argv);
    Some(match denial {
        Denial::Command => format!(
            "NOPERM this user has no permissions to run the '{}' command",
            spec.full_name
        ),
        Denial::Key(_) => {
            "NOPERM this user has no permissions to access one of the keys used as arguments"
                .to_string()
        }
        Denial::Channel(_) | Denial::Auth => {
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .to_string()
        }
    })
}

/// EXEC's second check of each queued command, as rules may have changed since it was
/// queued: `None` when allowed, else Redis's error text, logged in the `multi` context.
pub fn exec_refusal(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) -> Option<String> {
    if ctx.client.acl_epoch != ctx.server.acl.epoch() {
        refresh_client(&ctx.server.acl, ctx.client);
    }
    if ctx.client.acl_unrestricted {
        return None;
    }
    let denial = ctx.client.user.check(spec, argv).err()?;
    log_denial(ctx, denial, Context::Multi, spec, argv);
    let reason = match denial {
        Denial::Command => "no permission to execute the command or subcommand",
        Denial::Key(_) => "no permission to touch the specified keys",
        Denial::Channel(_) | Denial::Auth => {
            "no permission to access one of the channels used as arguments"
        }
    };
    Some(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the \
         EXEC call. This command is no longer allowed for the following reason: {reason}"
    ))
}

/// A script's check of a command it calls, as `user` (the caller's): `None` when allowed,
/// else Redis's error text, logged in the `lua` context against the calling connection
/// (`ctx`).
pub fn script_refusal(
    ctx: &mut Ctx,
    user: &User,
    spec: &'static CommandSpec,
    argv: &[&[u8]],
) -> Option<&'static str> {
    if user.unrestricted() {
        return None;
    }
    let denial = user.check(spec, argv).err()?;
    log_denial_as(ctx, &user.name, denial, Context::Lua, spec, argv);
    Some(match denial {
        Denial::Command => "ERR The user executing the script can't run this command or subcommand",
        Denial::Key(_) => {
            "ERR The user executing the script can't access at least one of the keys mentioned \
             in the command arguments"
        }
        Denial::Channel(_) | Denial::Auth => {
            "ERR The user executing the script can't publish to the channel mentioned in the \
             command"
        }
    })
}

fn log_denial(ctx: &mut Ctx, denial: Denial, context: Context, spec: &CommandSpec, argv: &[&[u8]]) {
    let name = ctx.client.user.name.clone();
    log_denial_as(ctx, &name, denial, context, spec, argv);
}

fn log_denial_as(
    ctx: &mut Ctx,
    username: &[u8],
    denial: Denial,
    context: Context,
    spec: &CommandSpec,
    argv: &[&[u8]],
) {
    let object = match denial {
        Denial::Command => spec.full_name.as_bytes().to_vec(),
        Denial::Key(at) | Denial::Channel(at) => argv.get(at).map_or_else(Vec::new, |a| a.to_vec()),
        Denial::Auth => argv.first().map_or_else(Vec::new, |a| a.to_vec()),
    };
    add_log(ctx, denial.reason(), context, object, username.to_vec());
}

/// Logs a failed AUTH / HELLO AUTH for `username`; `command` is the name as sent.
pub fn log_failed_auth(ctx: &mut Ctx, command: &[u8], username: &[u8]) {
    let context = context_of(ctx.client);
    add_log(
        ctx,
        Denial::Auth.reason(),
        context,
        command.to_vec(),
        username.to_vec(),
    );
}

fn add_log(
    ctx: &mut Ctx,
    reason: &'static str,
    context: Context,
    object: Vec<u8>,
    username: Vec<u8>,
) {
    let client_info = super::server::client::running_client_line(ctx);
    let entry = LogEntry {
        count: 1,
        reason,
        context,
        object,
        username,
        at_ms: crate::clock::unix_ms(),
        client_info,
    };
    let max_len = max_log_len(&ctx.server.config);
    ctx.server.acl.add_log_entry(entry, max_len);
}

/// The value of a parameter Reddish keeps as text only (`aclfile`, `acllog-max-len`,
/// `acl-pubsub-default`), or its default.
fn text_param<'a>(config: &'a crate::config::Config, name: &str, default: &'a str) -> &'a str {
    config.inert.get(name).map_or(default, String::as_str)
}

/// `acllog-max-len`.
pub fn max_log_len(config: &crate::config::Config) -> usize {
    text_param(config, "acllog-max-len", "128")
        .parse()
        .unwrap_or(128)
}

/// `acl-pubsub-default allchannels`: new users (and `reset`) may use every channel.
pub fn pubsub_default_all(config: &crate::config::Config) -> bool {
    text_param(config, "acl-pubsub-default", "resetchannels").eq_ignore_ascii_case("allchannels")
}

/// `aclfile`, if set.
pub fn acl_file(config: &crate::config::Config) -> Option<&str> {
    Some(text_param(config, "aclfile", "")).filter(|f| !f.is_empty())
}

/// The ACL categories: Redis's, then those of Reddish's own types, in table order.
pub fn categories() -> &'static [&'static str] {
    static CATEGORIES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    CATEGORIES.get_or_init(|| {
        let mut all: Vec<&'static str> = REDIS_CATEGORIES.to_vec();
        for spec in rules::every_command() {
            if let Some(own) = spec.acl {
                for name in own {
                    if !all.contains(name) {
                        all.push(name);
                    }
                }
            }
        }
        // A row without categories of its own has its group's (the native types').
        for spec in rules::every_command() {
            let group = spec.group;
            if spec.acl.is_none()
                && !all.contains(&group)
                && spec.acl_categories().contains(&format!("@{group}"))
            {
                all.push(group);
            }
        }
        all
    })
}

/// Reads users from ACL file text (Redis's `ACLLoadFromFile` rules: `user name rules...`
/// lines, blank lines skipped, every error collected). All or nothing: the users, or the
/// errors in one line.
pub fn parse_acl_file(
    text: &str,
    file_name: &str,
    pubsub_default_all: bool,
) -> Result<Vec<User>, String> {
    let mut users: Vec<User> = Vec::new();
    let mut errors = String::new();
    for (number, line) in text.split('\n').enumerate() {
        let line_number = number + 1;
        let line = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split(' ').filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            continue;
        }
        if words[0] != "user" || words.len() < 2 {
            errors.push_str(&format!(
                "{file_name}:{line_number} should start with user keyword followed by the \
                 username. "
            ));
            continue;
        }
        let name = words[1].as_bytes();
        if rules::has_spaces(name) {
            errors.push_str(&format!(
                "'{file_name}:{line_number}: username '{}' contains invalid characters. ",
                words[1]
            ));
            continue;
        }
        if users.iter().any(|u| u.name == name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {line_number}. ",
                words[1]
            ));
            continue;
        }
        let mut user = User::new(name, 0, pubsub_default_all);
        let ops: Vec<&[u8]> = words[2..].iter().map(|w| w.as_bytes()).collect();
        match rules::merge_selectors(&ops) {
            Err(_) => errors.push_str(&format!(
                "{file_name}:{line_number}: Unmatched parenthesis in selector definition."
            )),
            Ok(ops) => {
                for op in ops {
                    if let Err(e) = user.apply(&op, pubsub_default_all) {
                        errors.push_str(&format!("{file_name}:{line_number}: {}. ", e.text()));
                    }
                }
            }
        }
        users.push(user);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was \
             performed",
        );
        Err(errors)
    }
}

/// The ACL file text for the current users (ACL SAVE): one `user name rules` line each.
pub fn acl_file_text(acl: &Acl) -> String {
    let mut text = String::new();
    for user in acl.users() {
        text.push_str(&user.describe_line());
        text.push('\n');
    }
    text
}

/// Applies the `user` lines of the configuration at start-up (Redis's
/// `ACLLoadConfiguredUsers`): a `default` line resets the default user first. The error
/// names the rule that failed.
pub fn load_configured_users(
    acl: &mut Acl,
    lines: &[Vec<String>],
    pubsub_default_all: bool,
) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for words in lines {
        let Some((name, rules)) = words.split_first() else {
            continue;
        };
        if seen.contains(&name.as_str()) {
            return Err(format!(
                "Duplicate user found. A user can only be defined once in config files \
                 (user '{name}')"
            ));
        }
        seen.push(name);
        if rules::has_spaces(name.as_bytes()) {
            return Err("Spaces not allowed in ACL usernames".into());
        }
        let ops: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        let mut ops = rules::merge_selectors(&ops)
            .map_err(|_| format!("Unmatched parenthesis in the rules of user '{name}'"))?;
        if name == "default" {
            ops.insert(0, b"reset".to_vec());
        }
        acl.set_user(name.as_bytes(), &ops, pubsub_default_all)
            .map_err(|(op, e)| {
                format!(
                    "Error loading ACL rule '{}' for the user named '{name}': {}",
                    String::from_utf8_lossy(&op),
                    e.text()
                )
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
