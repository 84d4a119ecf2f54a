//! A user and its selectors: applying ACL rules (`on`, `>pass`, `+@read`, `~key*`, `(...)`),
//! describing them back as Redis does, and deciding whether a command may run.

use super::{categories, Denial};
use crate::commands::table::{row_count, CommandSpec, KeyFlags, COMMANDS};
use crate::store::glob;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Every command and subcommand, containers before their subcommands, in table order.
pub fn every_command() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS
        .iter()
        .flat_map(|spec| std::iter::once(spec).chain(spec.subcommands.iter()))
}

/// The category bits of each row, by row id (bit `i` is `categories()[i]`).
fn category_masks() -> &'static [u64] {
    static MASKS: OnceLock<Vec<u64>> = OnceLock::new();
    MASKS.get_or_init(|| {
        let names = categories();
        let mut masks = vec![0u64; row_count()];
        for spec in every_command() {
            for category in spec.acl_categories() {
                let category = category.trim_start_matches('@');
                if let Some(bit) = names.iter().position(|n| *n == category) {
                    if let Some(mask) = masks.get_mut(spec.id) {
                        *mask |= 1 << bit;
                    }
                }
            }
        }
        masks
    })
}

/// The bit of category `name` (case-insensitive), if it is one.
fn category_bit(name: &[u8]) -> Option<u64> {
    categories()
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
        .map(|at| 1 << at)
}

/// A command as ACL rules name it (`get`, `client|kill`), in the table as built (renames do
/// not apply, as in Redis).
fn lookup_for_acl(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.split(|&b| b == b'|');
    let base = parts.next()?;
    let spec = COMMANDS
        .iter()
        .find(|spec| spec.name.as_bytes().eq_ignore_ascii_case(base))?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(spec),
        (Some(sub), None) if !spec.subcommands.is_empty() => spec.subcommand(sub),
        _ => None,
    }
}

/// The command (or subcommand) `argv` names in the table clients call (Redis's
/// `lookupCommand`): a container with an unknown subcommand is no command.
pub fn lookup_command(argv: &[&[u8]]) -> Option<&'static CommandSpec> {
    let spec = crate::commands::lookup(argv.first()?)?;
    if spec.subcommands.is_empty() || argv.len() < 2 {
        return Some(spec);
    }
    spec.subcommand(argv[1])
}

/// True if `bytes` has whitespace or NUL (not allowed in user names and patterns).
pub fn has_spaces(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| b == 0 || b.is_ascii_whitespace() || b == 0x0b)
}

/// Lower-case hex SHA-256 of a password, as Redis stores them.
fn hash_password(password: &[u8]) -> String {
    let digest = Sha256::digest(password);
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

/// True for a hash Redis accepts: 64 lower-case hex digits.
fn valid_hash(hash: &[u8]) -> bool {
    hash.len() == 64 && hash.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Compares in time that depends only on the lengths, not on where the texts differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// Why a rule could not be applied; [`RuleError::text`] is Redis's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    Syntax,
    UnknownCommand,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl RuleError {
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and \
                 does not have any effect. Try 'resetkeys' to start with an empty list of \
                 patterns"
            }
            RuleError::ChannelAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid \
                 and does not have any effect. Try 'resetchannels' to start with an empty list \
                 of channels"
            }
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase \
                 hexadecimal characters"
            }
            RuleError::FirstArgOfSubcommand => {
                "Allowing first-arg of a subcommand is not supported"
            }
        }
    }
}

/// A key pattern and the access it grants (`~` both, `%R~` read, `%W~` write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub read: bool,
    pub write: bool,
}

impl KeyPattern {
    fn describe(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match (self.read, self.write) {
            (true, false) => b"%R~",
            (false, true) => b"%W~",
            _ => b"~",
        });
        out.extend_from_slice(&self.pattern);
    }
}

/// One set of permissions: a user passes a check when any of its selectors does.
#[derive(Debug, Clone)]
pub struct Selector {
    all_keys: bool,
    all_channels: bool,
    /// Set by `+@all`/`allcommands`, cleared by any command removed: skips the bitmap.
    all_commands: bool,
    /// Bit per row id, and one more (the last) for commands added later: set only by `+@all`,
    /// which tells `+@all -x` from `-@all +y...` when describing.
    allowed: Vec<u64>,
    /// First arguments allowed for a command whose bit is clear (`+select|0`), by row id.
    first_args: BTreeMap<usize, Vec<Vec<u8>>>,
    keys: Vec<KeyPattern>,
    channels: Vec<Vec<u8>>,
}

impl Selector {
    fn new(pubsub_default_all: bool) -> Self {
        Selector {
            all_keys: false,
            all_channels: pubsub_default_all,
            all_commands: false,
            allowed: vec![0; (row_count() + 1).div_ceil(64)],
            first_args: BTreeMap::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn future_bit() -> usize {
        row_count()
    }

    fn bit(&self, id: usize) -> bool {
        self.allowed
            .get(id / 64)
            .is_some_and(|word| word & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(word) = self.allowed.get_mut(id / 64) {
            if on {
                *word |= 1 << (id % 64);
            } else {
                *word &= !(1 << (id % 64));
                self.all_commands = false;
            }
        }
    }

    /// Allows or blocks a command, and all its subcommands with a container.
    fn change(&mut self, spec: &CommandSpec, allow: bool) {
        self.set_bit(spec.id, allow);
        self.first_args.remove(&spec.id);
        for sub in spec.subcommands {
            self.set_bit(sub.id, allow);
        }
    }

    fn change_category(&mut self, mask: u64, allow: bool) {
        let masks = category_masks();
        for spec in every_command() {
            if masks.get(spec.id).is_some_and(|m| m & mask != 0) {
                self.change(spec, allow);
            }
        }
    }

    fn set_all(&mut self, allow: bool) {
        let fill = if allow { u64::MAX } else { 0 };
        self.allowed.iter_mut().for_each(|w| *w = fill);
        self.all_commands = allow;
        self.first_args.clear();
    }

    /// Applies one selector rule (Redis's `ACLSetSelector`).
    fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.all_keys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is("allchannels") || op == b"&*" {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.all_keys {
                return Err(RuleError::KeyAfterAll);
            }
            let (mut read, mut write) = (false, false);
            let mut at = 1;
            if op[0] == b'%' {
                loop {
                    match op.get(at).map(u8::to_ascii_uppercase) {
                        Some(b'R') if !read => read = true,
                        Some(b'W') if !write => write = true,
                        Some(b'~') => {
                            at += 1;
                            break;
                        }
                        // Redis accepts `%RW` with no `~` as a pattern of nothing.
                        None if at > 1 => break,
                        _ => return Err(RuleError::Syntax),
                    }
                    at += 1;
                }
            } else {
                (read, write) = (true, true);
            }
            if !read && !write {
                return Err(RuleError::Syntax);
            }
            let pattern = &op[at.min(op.len())..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            match self.keys.iter_mut().find(|k| k.pattern == pattern) {
                Some(existing) => {
                    existing.read |= read;
                    existing.write |= write;
                }
                None => self.keys.push(KeyPattern {
                    pattern: pattern.to_vec(),
                    read,
                    write,
                }),
            }
            self.all_keys = false;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.all_channels = false;
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let mask = category_bit(&op[2..]).ok_or(RuleError::UnknownCommand)?;
            self.change_category(mask, op[0] == b'+');
        } else if op[0] == b'+' {
            let name = &op[1..];
            match name.iter().rposition(|&b| b == b'|') {
                None => {
                    let spec = lookup_for_acl(name).ok_or(RuleError::UnknownCommand)?;
                    self.change(spec, true);
                }
                Some(bar) => {
                    let (base, first_arg) = (&name[..bar], &name[bar + 1..]);
                    let spec = lookup_for_acl(base).ok_or(RuleError::UnknownCommand)?;
                    if spec.full_name.contains('|') {
                        return Err(RuleError::FirstArgOfSubcommand);
                    }
                    if first_arg.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if spec.subcommands.is_empty() {
                        let allowed = self.first_args.entry(spec.id).or_default();
                        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(first_arg)) {
                            allowed.push(first_arg.to_vec());
                        }
                    } else {
                        let sub = lookup_for_acl(name).ok_or(RuleError::UnknownCommand)?;
                        self.change(sub, true);
                    }
                }
            }
        } else if op[0] == b'-' {
            let spec = lookup_for_acl(&op[1..]).ok_or(RuleError::UnknownCommand)?;
            self.change(spec, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// Commands allowed and not, among those of category `mask`.
    fn count_category(&self, mask: u64) -> (usize, usize) {
        let masks = category_masks();
        let (mut on, mut off) = (0, 0);
        for spec in every_command() {
            if masks.get(spec.id).is_some_and(|m| m & mask != 0) {
                if self.bit(spec.id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// The command rules that give this selector's bitmap, as Redis writes them: `+@all` or
    /// `-@all`, the categories that fit best, then single commands (Redis's
    /// `ACLDescribeSelectorCommandRules`).
    pub fn describe_commands(&self) -> String {
        let additive = !self.bit(Self::future_bit());
        let mut rules = String::from(if additive { "-@all " } else { "+@all " });
        let mut fake = Selector::new(false);
        fake.set_all(!additive);
        let mut temp = self.clone();
        let names = categories();
        let mut applied = vec![false; names.len()];
        loop {
            let mut best = None;
            let (mut min_diff, mut max_same) = (usize::MAX, 0);
            for (at, _) in names.iter().enumerate() {
                if applied[at] {
                    continue;
                }
                let (on, off) = temp.count_category(1 << at);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                    best = Some(at);
                    min_diff = diff;
                    max_same = same;
                }
            }
            let Some(best) = best else { break };
            fake.change_category(1 << best, additive);
            temp.change_category(1 << best, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(names[best]);
            rules.push(' ');
            applied[best] = true;
        }
        for spec in COMMANDS {
            self.describe_single(spec, &mut fake, &mut rules);
        }
        rules.pop();
        rules
    }

    fn describe_single(&self, spec: &CommandSpec, fake: &mut Selector, rules: &mut String) {
        let mine = self.bit(spec.id);
        if mine != fake.bit(spec.id) {
            rules.push(if mine { '+' } else { '-' });
            rules.push_str(spec.full_name);
            rules.push(' ');
            fake.change(spec, mine);
        }
        for sub in spec.subcommands {
            self.describe_single(sub, fake, rules);
        }
        if !mine {
            if let Some(args) = self.first_args.get(&spec.id) {
                for arg in args {
                    rules.push('+');
                    rules.push_str(spec.full_name);
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(arg));
                    rules.push(' ');
                }
            }
        }
    }

    /// The channel patterns (empty under `allchannels`).
    pub fn channel_patterns(&self) -> &[Vec<u8>] {
        &self.channels
    }

    pub fn has_all_channels(&self) -> bool {
        self.all_channels
    }

    /// Key patterns as ACL GETUSER shows them.
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            key.describe(&mut out);
        }
        out
    }

    /// Channel patterns as ACL GETUSER shows them.
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, channel) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(channel);
        }
        out
    }

    /// The selector as ACL LIST writes it: keys, channels, commands.
    fn describe(&self, out: &mut Vec<u8>) {
        if self.all_keys {
            out.extend_from_slice(b"~* ");
        } else {
            for key in &self.keys {
                key.describe(out);
                out.push(b' ');
            }
        }
        if self.all_channels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for channel in &self.channels {
                out.push(b'&');
                out.extend_from_slice(channel);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands().as_bytes());
    }

    /// True when the key at `key` may be used with `flags` (Redis's `ACLSelectorCheckKey`).
    fn key_allowed(&self, key: &[u8], flags: KeyFlags) -> bool {
        if self.all_keys {
            return true;
        }
        let read = flags.contains(KeyFlags::ACCESS);
        let write = flags.contains(KeyFlags::INSERT)
            || flags.contains(KeyFlags::DELETE)
            || flags.contains(KeyFlags::UPDATE);
        self.keys
            .iter()
            .any(|p| (!read || p.read) && (!write || p.write) && glob::matches(&p.pattern, key))
    }

    /// True when `channel` is allowed: matched by a pattern, or for a pattern subscription
    /// (`literal`), equal to one.
    fn channel_allowed(&self, channel: &[u8], literal: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| {
                if literal {
                    p == channel
                } else {
                    glob::matches(p, channel)
                }
            })
    }

    /// Redis's `ACLSelectorCheckCmd`: `keys` is filled on first need and shared between the
    /// selectors of one check.
    fn check(
        &self,
        spec: &CommandSpec,
        argv: &[&[u8]],
        keys: &mut Option<Vec<(usize, KeyFlags)>>,
    ) -> Result<(), Denial> {
        if !self.all_commands
            && !spec.flags.contains(crate::commands::Flags::NO_AUTH)
            && !self.bit(spec.id)
        {
            let at = if spec.full_name.contains('|') { 2 } else { 1 };
            let first_arg_allowed = argv.len() >= 2
                && self.first_args.get(&spec.id).is_some_and(|allowed| {
                    argv.get(at)
                        .is_some_and(|arg| allowed.iter().any(|a| a.eq_ignore_ascii_case(arg)))
                });
            if !first_arg_allowed {
                return Err(Denial::Command);
            }
        }
        if !self.all_keys && spec.has_keys() {
            let keys = keys.get_or_insert_with(|| spec.keys_with_flags(argv));
            for &(at, flags) in keys.iter() {
                if let Some(key) = argv.get(at) {
                    if !self.key_allowed(key, flags) {
                        return Err(Denial::Key(at));
                    }
                }
            }
        }
        if !self.all_channels {
            let (first, literal) = match spec.full_name {
                "publish" | "spublish" => (Some(1..argv.len().min(2)), false),
                "subscribe" | "ssubscribe" => (Some(1..argv.len()), false),
                "psubscribe" => (Some(1..argv.len()), true),
                _ => (None, false),
            };
            if let Some(range) = first {
                for at in range {
                    if !self.channel_allowed(argv[at], literal) {
                        return Err(Denial::Channel(at));
                    }
                }
            }
        }
        Ok(())
    }

    /// True when this selector allows the command and grants `read` access to every key: a
    /// `~*`-like pattern (SORT BY/GET needs it).
    fn full_key_access(&self, spec: &CommandSpec, argv: &[&[u8]], read: bool) -> bool {
        let mut keys = None;
        self.check(spec, argv, &mut keys).is_ok()
            && (self.all_keys
                || self
                    .keys
                    .iter()
                    .any(|k| k.pattern == b"*" && (!read || k.read) && (read || k.write)))
    }
}

/// User flags, in the order Redis lists them.
const FLAG_NAMES: [&str; 5] = [
    "on",
    "off",
    "nopass",
    "skip-sanitize-payload",
    "sanitize-payload",
];
const ON: u8 = 1;
const OFF: u8 = 2;
const NOPASS: u8 = 4;
const SKIP_SANITIZE: u8 = 8;
const SANITIZE: u8 = 16;

/// A user: flags, password hashes and selectors (the first is the root one, the rules given
/// outside parentheses).
#[derive(Debug, Clone)]
pub struct User {
    pub name: Vec<u8>,
    /// Stays the same through changes to the user (see the module documentation of
    /// [`super`]); a deleted and re-created user gets a new one.
    pub uid: u64,
    flags: u8,
    /// Lower-case hex SHA-256 of each password.
    passwords: Vec<String>,
    selectors: Vec<Selector>,
    /// On, root selector with every command, key and channel: no check needed.
    unrestricted: bool,
}

impl Default for User {
    fn default() -> Self {
        User::default_user(0)
    }
}

impl User {
    /// A new user as Redis creates one: off, no password, no permissions.
    pub fn new(name: &[u8], uid: u64, pubsub_default_all: bool) -> Self {
        User {
            name: name.to_vec(),
            uid,
            flags: OFF,
            passwords: Vec::new(),
            selectors: vec![Selector::new(pubsub_default_all)],
            unrestricted: false,
        }
    }

    /// Redis's default user: `on nopass ~* &* +@all`.
    pub fn default_user(uid: u64) -> Self {
        let mut user = User::new(b"default", uid, false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            // Each of these rules always applies.
            let _ = user.apply(op.as_bytes(), false);
        }
        user.refresh();
        user
    }

    pub fn enabled(&self) -> bool {
        self.flags & ON != 0
    }

    pub fn nopass(&self) -> bool {
        self.flags & NOPASS != 0
    }

    /// True when no check can refuse anything (the fast path).
    #[inline]
    pub fn unrestricted(&self) -> bool {
        self.unrestricted
    }

    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// The selectors after the root one.
    pub fn extra_selectors(&self) -> &[Selector] {
        &self.selectors[1..]
    }

    pub fn flag_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        FLAG_NAMES
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.flags & (1 << bit) != 0)
            .map(|(_, name)| *name)
    }

    pub fn password_hashes(&self) -> &[String] {
        &self.passwords
    }

    /// Recomputes what is derived from the rules; called after rules change.
    pub(super) fn refresh(&mut self) {
        let root = &self.selectors[0];
        self.unrestricted = root.all_commands && root.all_keys && root.all_channels;
    }

    /// True if `password` is one of the user's (or the user needs none).
    pub fn password_matches(&self, password: &[u8]) -> bool {
        if self.nopass() {
            return true;
        }
        let hashed = hash_password(password);
        let mut found = false;
        for known in &self.passwords {
            found |= same_secret(known.as_bytes(), hashed.as_bytes());
        }
        found
    }

    /// Applies one rule (Redis's `ACLSetUser`); an empty rule does nothing.
    pub fn apply(&mut self, op: &[u8], pubsub_default_all: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("on") {
            self.flags = (self.flags | ON) & !OFF;
        } else if is("off") {
            self.flags = (self.flags | OFF) & !ON;
        } else if is("skip-sanitize-payload") {
            self.flags = (self.flags | SKIP_SANITIZE) & !SANITIZE;
        } else if is("sanitize-payload") {
            self.flags = (self.flags | SANITIZE) & !SKIP_SANITIZE;
        } else if is("nopass") {
            self.flags |= NOPASS;
            self.passwords.clear();
        } else if is("resetpass") {
            self.flags &= !NOPASS;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.flags &= !NOPASS;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut selector = Selector::new(pubsub_default_all);
            for rule in op[1..op.len() - 1]
                .split(|b| b.is_ascii_whitespace())
                .filter(|r| !r.is_empty())
            {
                selector.apply(rule)?;
            }
            self.selectors.push(selector);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for rule in ["resetpass", "resetkeys", "resetchannels"] {
                self.apply(rule.as_bytes(), pubsub_default_all)?;
            }
            if pubsub_default_all {
                self.apply(b"allchannels", pubsub_default_all)?;
            }
            for rule in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                self.apply(rule.as_bytes(), pubsub_default_all)?;
            }
        } else {
            self.selectors[0].apply(op)?;
        }
        self.refresh();
        Ok(())
    }

    /// Whether the user may run `argv` (name at 0), as Redis's `ACLCheckAllUserCommandPerm`:
    /// allowed when any selector allows it; otherwise the refusal that ranks highest (a
    /// channel over a key over the command; the later argument on a tie).
    pub fn check(&self, spec: &CommandSpec, argv: &[&[u8]]) -> Result<(), Denial> {
        let mut keys = None;
        let mut worst = Denial::Command;
        for selector in &self.selectors {
            match selector.check(spec, argv, &mut keys) {
                Ok(()) => return Ok(()),
                Err(denial) => {
                    if denial.rank() > worst.rank() {
                        worst = denial;
                    }
                }
            }
        }
        Err(worst)
    }

    /// True when some selector allows the command with read (or write) access to every key
    /// (Redis's `ACLUserCheckCmdWithUnrestrictedKeyAccess`, for SORT BY/GET).
    pub fn full_key_access(&self, spec: &CommandSpec, argv: &[&[u8]], read: bool) -> bool {
        self.unrestricted
            || self
                .selectors
                .iter()
                .any(|s| s.full_key_access(spec, argv, read))
    }

    /// The user as ACL LIST and the ACL file write it: `user <name> <rules>`.
    pub fn describe_line(&self) -> String {
        let mut out = b"user ".to_vec();
        out.extend_from_slice(&self.name);
        out.push(b' ');
        out.extend_from_slice(&self.describe());
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The rules that rebuild this user (Redis's `ACLDescribeUser`).
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for name in self.flag_names() {
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
        }
        for hash in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(hash.as_bytes());
            out.push(b' ');
        }
        self.selectors[0].describe(&mut out);
        for selector in &self.selectors[1..] {
            out.extend_from_slice(b" (");
            selector.describe(&mut out);
            out.push(b')');
        }
        out
    }
}

/// Joins selector rules spread over several arguments (`(~key`, `+get)`) into one, as
/// Redis's `ACLMergeSelectorArguments`. `Err(index)` of the argument that opened a selector
/// never closed.
pub fn merge_selectors(ops: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut merged = Vec::with_capacity(ops.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (at, op) in ops.iter().enumerate() {
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((at, op.to_vec()));
            continue;
        }
        if let Some((_, selector)) = open.as_mut() {
            selector.push(b' ');
            selector.extend_from_slice(op);
            if op.last() == Some(&b')') {
                if let Some((_, selector)) = open.take() {
                    merged.push(selector);
                }
            }
            continue;
        }
        merged.push(op.to_vec());
    }
    match open {
        Some((at, _)) => Err(at),
        None => Ok(merged),
    }
}
