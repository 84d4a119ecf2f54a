//! Client-side caching: CLIENT TRACKING, CACHING, TRACKINGINFO, GETREDIR, and the
//! invalidation messages that tell a client a key it may have cached changed.
//!
//! Two modes, as in Redis. By default the server remembers, per key, the clients that read
//! it with a read-only command (the tracking table); when the key changes each of them is told
//! once and the key is forgotten until someone reads it again. In broadcast mode (`BCAST`)
//! nothing is remembered per client: a client names key prefixes (none: every key) and hears
//! of every changed key under them, batched per prefix before the server sleeps.
//!
//! Changes come from the store's record ([`Touched`]), so every write path, expiry and flush
//! is covered once. A message goes to the tracking client itself as a RESP3 push
//! (`>2 invalidate [keys]`), or to its REDIRECT client: as a push when that one speaks RESP3,
//! else as a pub/sub message on `__redis__:invalidate` when it is subscribed to anything.
//! A message for the client whose own command caused it waits until after that command's
//! reply (all of EXEC's), as in Redis. The table is bounded by `tracking-table-max-keys`: past
//! it, keys are forgotten at random and their clients told as if the keys had changed.
//!
//! While no client tracks and the table is empty, nothing here runs: the store records no
//! changes and the command path tests one flag ([`Tracking::is_on`]).

use super::args::is_keyword;
use super::pubsub::append_message;
use super::table::{lookup, CommandSpec, Flags};
use super::{Args, ClientDirectory, ClientState, CmdError, CmdResult, Ctx, Outbox, Server};
use crate::protocol::ReplyBuf;
use crate::store::{FastMap, IndexedMap, Key, Keyspace, Touched};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// The tracking options of one client with tracking on.
#[derive(Debug, Clone, Default)]
pub struct ClientTracking {
    /// The client messages go to instead (0: this one).
    redirect: u64,
    bcast: bool,
    optin: bool,
    optout: bool,
    /// Not told of changes it made itself.
    noloop: bool,
    /// CLIENT CACHING was given for the next command (or transaction).
    caching: bool,
    /// A message could not be sent: the redirect client is gone.
    broken_redirect: bool,
    /// BCAST prefixes, in byte order as Redis lists them.
    prefixes: BTreeSet<Vec<u8>>,
}

impl ClientTracking {
    /// True if the keys this client reads now are remembered: in default mode, unless OPTIN
    /// is on without CLIENT CACHING YES, or OPTOUT with CLIENT CACHING NO.
    fn remembers_reads(&self) -> bool {
        if self.bcast {
            false
        } else if self.optin {
            self.caching
        } else if self.optout {
            !self.caching
        } else {
            true
        }
    }
}

/// The keys changed under one BCAST prefix since the last broadcast, and who listens.
#[derive(Debug, Default)]
struct Broadcast {
    /// Client ids, in order.
    clients: BTreeSet<u64>,
    /// Changed keys, in byte order, with the client whose command changed each last (`None`:
    /// it expired), so NOLOOP clients are not told of their own changes.
    keys: BTreeMap<Key, Option<u64>>,
}

/// Server-wide tracking state.
#[derive(Debug, Default)]
pub struct Tracking {
    /// Clients with tracking on, by id.
    clients: FastMap<u64, ClientTracking>,
    /// Key -> ids of the clients that read it since it last changed. Ids stay when a client
    /// turns tracking off or leaves (as in Redis: cleaning up would cost a walk of the table);
    /// they are skipped when the key changes.
    table: IndexedMap<Key, Vec<u64>>,
    /// Ids across the whole table (INFO `tracking_total_items`).
    items: u64,
    /// BCAST prefixes, in byte order.
    prefixes: BTreeMap<Vec<u8>, Broadcast>,
    /// Messages for the running client, held until its reply is written: a key, or `None`
    /// for a flush.
    pending: Vec<Option<Key>>,
    /// Consecutive limit passes that ended still over `tracking-table-max-keys`: each one
    /// tries harder, as in Redis.
    over_limit_passes: u32,
    /// The store's record of changes, taken after each command; kept to reuse its buffer.
    touched: Vec<Touched>,
    /// Some client tracks, or the table still holds keys.
    on: bool,
}

/// What an invalidation message says.
#[derive(Clone, Copy)]
enum Payload<'a> {
    /// This one key.
    Key(&'a [u8]),
    /// An array of keys already encoded (BCAST batches).
    Encoded(&'a [u8]),
    /// Every key (a flush): a null.
    Null,
}

/// Where messages go: the running client's reply buffer (when a command runs) and the
/// outbox for everyone else; and who made the changes at hand.
struct Post<'a> {
    outbox: &'a mut Outbox,
    clients: &'a dyn ClientDirectory,
    running: Option<(&'a ClientState, &'a mut ReplyBuf)>,
    /// The client whose command made the changes (NOLOOP clients are not told of their own);
    /// `None` for changes no command made (background expiry).
    changer: Option<u64>,
}

impl Post<'_> {
    /// (speaks RESP3, is subscribed to something) of open connection `id`.
    fn peer(&self, id: u64) -> Option<(bool, bool)> {
        match &self.running {
            Some((state, out)) if state.id == id => Some((out.is_resp3(), state.is_subscriber())),
            _ => {
                let mut peer = None;
                self.clients.find(id, &mut |state, stats| {
                    peer = Some((stats.resp == 3, state.is_subscriber()));
                });
                peer
            }
        }
    }

    fn running_id(&self) -> Option<u64> {
        self.running.as_ref().map(|(state, _)| state.id)
    }

    /// Sends an encoded push (RESP2 framing, `*` becoming `>` for RESP3) to `id`.
    fn deliver(&mut self, id: u64, bytes: &[u8]) {
        match &mut self.running {
            Some((state, out)) if state.id == id => append_message(out, bytes, true),
            _ => self.outbox.deliver(id, bytes, true),
        }
    }
}

fn header(out: &mut Vec<u8>, prefix: u8, len: usize) {
    out.push(prefix);
    out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    header(out, b'$', bytes.len());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Sends one invalidation message for tracking client `target`, where its options say:
/// to itself in RESP3, to its redirect client (as a push, or a pub/sub message when that
/// one speaks RESP2 and is subscribed), or nowhere (RESP2 without redirect). A redirect client
/// that is gone marks the redirect broken and tells `target` so, when it speaks RESP3.
fn send(
    clients: &mut FastMap<u64, ClientTracking>,
    post: &mut Post,
    target: u64,
    payload: Payload,
) {
    let Some(state) = clients.get_mut(&target) else {
        return;
    };
    let Some((target_resp3, _)) = post.peer(target) else {
        return;
    };
    let mut message = Vec::new();
    let mut recipient = target;
    // A redirect to the client itself still counts as one: it may then get pub/sub messages.
    let redirected = state.redirect != 0;
    if redirected {
        if post.peer(state.redirect).is_none() {
            state.broken_redirect = true;
            if target_resp3 {
                message.extend_from_slice(b"*2\r\n$21\r\ntracking-redir-broken\r\n:");
                message.extend_from_slice(itoa::Buffer::new().format(state.redirect).as_bytes());
                message.extend_from_slice(b"\r\n");
                post.deliver(target, &message);
            }
            return;
        }
        recipient = state.redirect;
    }
    let Some((resp3, subscriber)) = post.peer(recipient) else {
        return;
    };
    if resp3 {
        message.extend_from_slice(b"*2\r\n$10\r\ninvalidate\r\n");
    } else if redirected && subscriber {
        message.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    } else {
        // RESP2 has no pushes: nothing can be said on the connection itself.
        return;
    }
    match payload {
        Payload::Key(key) => {
            message.extend_from_slice(b"*1\r\n");
            bulk(&mut message, key);
        }
        Payload::Encoded(bytes) => message.extend_from_slice(bytes),
        // The null of the tracking client's protocol, even when redirected, as Redis sends.
        Payload::Null if target_resp3 => message.extend_from_slice(b"_\r\n"),
        Payload::Null => message.extend_from_slice(b"$-1\r\n"),
    }
    post.deliver(recipient, &message);
}

/// The keys of one BCAST batch as a RESP array, leaving out those `noloop` (a NOLOOP client)
/// changed last; `None` when that leaves nothing.
fn encode_batch(keys: &BTreeMap<Key, Option<u64>>, noloop: Option<u64>) -> Option<Vec<u8>> {
    let kept = |by: &Option<u64>| noloop.is_none() || *by != noloop;
    let count = keys.values().filter(|by| kept(by)).count();
    if count == 0 {
        return None;
    }
    let mut out = Vec::new();
    header(&mut out, b'*', count);
    for (key, by) in keys {
        if kept(by) {
            bulk(&mut out, key);
        }
    }
    Some(out)
}

impl Tracking {
    /// True while some client tracks or the table holds keys: only then does anything here
    /// need to run. O(1).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Recomputes [`Self::is_on`] and tells the store whether to record changes.
    fn sync(&mut self, ks: &mut Keyspace) {
        self.on = !self.clients.is_empty() || !self.table.is_empty();
        ks.record_touched(self.on);
    }

    /// Clients with tracking on (INFO `tracking_clients`).
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Keys in the tracking table (INFO `tracking_total_keys`).
    pub fn total_keys(&self) -> usize {
        self.table.len()
    }

    /// Client ids across the table (INFO `tracking_total_items`).
    pub fn total_items(&self) -> u64 {
        self.items
    }

    /// Bytes client `id`'s BCAST prefixes hold: each prefix, and a node's worth beside it in
    /// its own set and in the table of all prefixes.
    pub fn prefix_memory(&self, id: u64) -> usize {
        self.clients.get(&id).map_or(0, |state| {
            state
                .prefixes
                .iter()
                .map(|prefix| prefix.capacity() + PREFIX_NODE_BYTES)
                .sum()
        })
    }

    /// BCAST prefixes of all clients (INFO `tracking_total_prefixes`).
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }

    /// CLIENT LIST's view of client `id`: its flag letters (`t`, `R`, `B`) and its `redir`
    /// (-1 when tracking is off).
    pub fn list_fields(&self, id: u64) -> (&'static str, i64) {
        match self.clients.get(&id) {
            None => ("", -1),
            Some(state) => {
                let flags = match (state.broken_redirect, state.bcast) {
                    (false, false) => "t",
                    (true, false) => "tR",
                    (false, true) => "tB",
                    (true, true) => "tRB",
                };
                (flags, state.redirect as i64)
            }
        }
    }

    /// Turns tracking off for client `id`, which closed its connection or ran RESET (its ids
    /// in the table go lazily).
    pub fn turn_off(&mut self, ks: &mut Keyspace, id: u64) {
        if self.clients.contains_key(&id) {
            self.disable(id);
            self.sync(ks);
        }
    }

    /// CLIENT TRACKING OFF for `id`: leaves its BCAST prefixes (dropping a prefix nobody else
    /// has) and forgets its options.
    fn disable(&mut self, id: u64) {
        let Some(state) = self.clients.remove(&id) else {
            return;
        };
        for prefix in &state.prefixes {
            if let Some(broadcast) = self.prefixes.get_mut(prefix) {
                broadcast.clients.remove(&id);
                if broadcast.clients.is_empty() {
                    self.prefixes.remove(prefix);
                }
            }
        }
    }

    /// Remembers that client `id` read `keys`. O(keys x readers of each key).
    fn remember(&mut self, id: u64, keys: &[&[u8]]) {
        for &key in keys {
            let readers = match self.table.get_mut(key) {
                Some(readers) => readers,
                None => self.table.entry(key.into()).or_default(),
            };
            if !readers.contains(&id) {
                readers.push(id);
                self.items += 1;
            }
        }
    }

    /// A key changed (or is being forgotten to respect the table's bound, `broadcast`
    /// false): queues it for the BCAST prefixes it falls under, with `changed_by` (the client
    /// whose command changed it), and tells every default-mode client that read it, except a
    /// NOLOOP one running the command. A message for the running client waits until after its
    /// reply while `executing`. The key leaves the table. O(prefixes + readers).
    fn invalidate(
        &mut self,
        post: &mut Post,
        key: &[u8],
        changed_by: Option<u64>,
        broadcast: bool,
        executing: bool,
    ) {
        if broadcast {
            for (prefix, batch) in &mut self.prefixes {
                if key.starts_with(prefix) {
                    match batch.keys.get_mut(key) {
                        Some(by) => *by = changed_by,
                        None => {
                            batch.keys.insert(key.into(), changed_by);
                        }
                    }
                }
            }
        }
        let Some(readers) = self.table.swap_remove(key) else {
            return;
        };
        self.items -= readers.len() as u64;
        let running = post.running_id();
        for id in readers {
            let Some(state) = self.clients.get(&id) else {
                continue;
            };
            // A client that moved to BCAST is not told of keys it read before.
            if state.bcast || (state.noloop && post.changer == Some(id)) {
                continue;
            }
            if executing && running == Some(id) {
                self.pending.push(Some(key.into()));
            } else {
                send(&mut self.clients, post, id, Payload::Key(key));
            }
        }
    }

    /// A flush: every tracking client is told that all keys changed, and the table empties.
    fn flushed(&mut self, post: &mut Post, executing: bool) {
        let running = post.running_id();
        let mut ids: Vec<u64> = self.clients.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if executing && running == Some(id) {
                self.pending.push(None);
            } else {
                send(&mut self.clients, post, id, Payload::Null);
            }
        }
        self.table.clear();
        self.items = 0;
    }

    /// Acts on the changes the store recorded since the last call: the post's changer (if
    /// any) changed the keys it did not see expire.
    fn take_changes(&mut self, ks: &mut Keyspace, post: &mut Post, executing: bool) {
        if !ks.has_touched() {
            return;
        }
        let mut touched = std::mem::take(&mut self.touched);
        ks.take_touched(&mut touched);
        for change in touched.drain(..) {
            match change {
                Touched::Key { key, expired } => {
                    let changed_by = if expired { None } else { post.changer };
                    self.invalidate(post, &key, changed_by, true, executing);
                }
                Touched::Flush => self.flushed(post, executing),
            }
        }
        self.touched = touched;
    }

    /// Forgets keys at random, telling their clients, until the table is back within
    /// `max_keys` (0: no bound) or this pass's effort is spent: 100 keys, 100 more for each
    /// consecutive pass that ended over the bound, as Redis does.
    fn enforce_limit(&mut self, post: &mut Post, max_keys: u64, rng: &mut impl Rng) {
        if max_keys == 0 || self.table.len() as u64 <= max_keys {
            self.over_limit_passes = 0;
            return;
        }
        let mut effort = 100 * (u64::from(self.over_limit_passes) + 1);
        while effort > 0 && !self.table.is_empty() {
            effort -= 1;
            let at = rng.gen_range(0..self.table.len());
            let Some(key) = self.table.get_index(at).map(|(key, _)| key.clone()) else {
                break;
            };
            self.invalidate(post, &key, None, false, false);
            if self.table.len() as u64 <= max_keys {
                self.over_limit_passes = 0;
                return;
            }
        }
        self.over_limit_passes = self.over_limit_passes.saturating_add(1);
    }

    /// Sends each BCAST prefix's batch of changed keys to its clients, and starts new batches.
    fn broadcast(&mut self, post: &mut Post) {
        let Tracking {
            prefixes, clients, ..
        } = self;
        for batch in prefixes.values_mut() {
            if batch.keys.is_empty() {
                continue;
            }
            let everything = encode_batch(&batch.keys, None);
            for &id in &batch.clients {
                let noloop = clients.get(&id).is_some_and(|state| state.noloop);
                if noloop {
                    if let Some(own) = encode_batch(&batch.keys, Some(id)) {
                        send(clients, post, id, Payload::Encoded(&own));
                    }
                } else if let Some(everything) = &everything {
                    send(clients, post, id, Payload::Encoded(everything));
                }
            }
            batch.keys.clear();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hooks on the command path and the reactor's timed work
// ---------------------------------------------------------------------------------------------

/// Acts on changes made before the running command by nobody (the evictions that make room
/// for it): their invalidation messages come before its reply, as in Redis.
pub(super) fn before_command(ctx: &mut Ctx) {
    let Server {
        tracking, outbox, ..
    } = &mut *ctx.server;
    let mut post = Post {
        outbox,
        clients: ctx.clients,
        running: Some((&*ctx.client, &mut *ctx.out)),
        changer: None,
    };
    tracking.take_changes(ctx.ks, &mut post, false);
    tracking.sync(ctx.ks);
}

/// Runs one request while tracking is on: before it, changes left from outside any command
/// are acted on and the table is brought within its bound (messages then come before the
/// reply, as in Redis); after it, messages held for the client follow its reply, and
/// CLIENT CACHING's one-command effect ends.
pub(super) fn execute_tracked(ctx: &mut Ctx, argv: &[&[u8]]) {
    {
        let Server {
            tracking,
            outbox,
            config,
            rng,
            ..
        } = &mut *ctx.server;
        // Changes left from outside any command (a key expiring while blocked clients were
        // served) were made by nobody; the bound is enforced on this client's behalf.
        let mut post = Post {
            outbox,
            clients: ctx.clients,
            running: Some((&*ctx.client, &mut *ctx.out)),
            changer: None,
        };
        tracking.take_changes(ctx.ks, &mut post, false);
        if !tracking.clients.is_empty() {
            post.changer = Some(ctx.client.id);
            tracking.enforce_limit(&mut post, config.tracking_table_max_keys, rng);
        }
        tracking.sync(ctx.ks);
    }
    super::run_request(ctx, argv);
    let Server {
        tracking, outbox, ..
    } = &mut *ctx.server;
    let id = ctx.client.id;
    if !tracking.pending.is_empty() {
        let mut post = Post {
            outbox,
            clients: ctx.clients,
            running: Some((&*ctx.client, &mut *ctx.out)),
            changer: Some(id),
        };
        for message in std::mem::take(&mut tracking.pending) {
            let payload = match &message {
                Some(key) => Payload::Key(key),
                None => Payload::Null,
            };
            send(&mut tracking.clients, &mut post, id, payload);
        }
    }
    if let Some(state) = tracking.clients.get_mut(&id) {
        // CACHING lasts for the next command, or the whole transaction, and CLIENT commands
        // do not use it up, as in Redis.
        if state.caching && ctx.client.multi.is_none() && !is_client_command(argv) {
            state.caching = false;
        }
    }
    tracking.sync(ctx.ks);
}

fn is_client_command(argv: &[&[u8]]) -> bool {
    argv.first()
        .is_some_and(|name| name.eq_ignore_ascii_case(b"client"))
        && lookup(argv[0]).is_some_and(|spec| {
            argv.get(1)
                .is_some_and(|sub| spec.subcommand(sub).is_some())
        })
}

/// After each command (each of EXEC's too) while tracking is on: acts on the keys it
/// changed, then remembers the keys a read-only command read for a default-mode client.
pub(super) fn after_call(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) {
    let Server {
        tracking, outbox, ..
    } = &mut *ctx.server;
    let changer = Some(ctx.client.id);
    let mut post = Post {
        outbox,
        clients: ctx.clients,
        running: Some((&*ctx.client, &mut *ctx.out)),
        changer,
    };
    tracking.take_changes(ctx.ks, &mut post, true);
    // A read-only script (EVAL_RO) tracks its keys only if it read (see
    // [`remember_script_keys`]).
    if spec.flags.contains(Flags::READONLY)
        && !spec.flags.contains(Flags::PUBSUB)
        && spec.group != "scripting"
    {
        let id = ctx.client.id;
        let remembers = tracking
            .clients
            .get(&id)
            .is_some_and(ClientTracking::remembers_reads);
        if remembers {
            tracking.remember(id, &spec.keys(argv));
        }
    }
    tracking.sync(ctx.ks);
}

/// A script that ran a read-only command: its caller tracks the keys the script declared, as
/// Redis's. O(keys).
pub fn remember_script_keys(ctx: &mut Ctx, keys: &[&[u8]]) {
    let id = ctx.client.id;
    let tracking = &mut ctx.server.tracking;
    if tracking
        .clients
        .get(&id)
        .is_some_and(ClientTracking::remembers_reads)
    {
        tracking.remember(id, keys);
        tracking.sync(ctx.ks);
    }
}

/// Timed work (`hz` times a second): acts on keys that expired in the background and
/// brings the table within its bound.
pub fn cron(ks: &mut Keyspace, server: &mut Server, clients: &dyn ClientDirectory) {
    let Server {
        tracking,
        outbox,
        config,
        rng,
        ..
    } = server;
    let mut post = Post {
        outbox,
        clients,
        running: None,
        changer: None,
    };
    tracking.take_changes(ks, &mut post, false);
    if !tracking.clients.is_empty() {
        tracking.enforce_limit(&mut post, config.tracking_table_max_keys, rng);
    }
    tracking.sync(ks);
}

/// Before the reactor sleeps: acts on changes made outside commands, and sends the BCAST
/// batches gathered since it last slept.
pub fn before_sleep(ks: &mut Keyspace, server: &mut Server, clients: &dyn ClientDirectory) {
    let Server {
        tracking, outbox, ..
    } = server;
    let mut post = Post {
        outbox,
        clients,
        running: None,
        changer: None,
    };
    tracking.take_changes(ks, &mut post, false);
    if !tracking.prefixes.is_empty() {
        tracking.broadcast(&mut post);
    }
    tracking.sync(ks);
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// True if some client other than the running one has id `id`.
fn client_exists(ctx: &Ctx, id: i64) -> bool {
    u64::try_from(id).is_ok_and(|id| id == ctx.client.id || ctx.clients.find(id, &mut |_, _| {}))
}

/// What one BCAST prefix costs beside its bytes: its entries in the client's set and in the
/// prefix table (an estimate, as Redis's own count of its radix tree nodes is).
const PREFIX_NODE_BYTES: usize =
    2 * (std::mem::size_of::<Vec<u8>>() + 2 * std::mem::size_of::<usize>());

/// Redis's rule for BCAST prefixes: two overlap when one starts with the other.
fn overlap(a: &[u8], b: &[u8]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Redis's checks of new BCAST prefixes, against the client's own and each other. (Redis
/// 7.0 refuses an overlap among the new prefixes only when the first one is involved: for a
/// later pair it writes the error and then enables tracking anyway, two replies to one
/// command. Here any overlap is refused, with the same text.)
fn check_prefixes(existing: Option<&BTreeSet<Vec<u8>>>, new: &[&[u8]]) -> Result<(), CmdError> {
    let shown = |bytes: &[u8]| {
        // `%s` in Redis's message stops at a NUL.
        let end = memchr::memchr(0, bytes).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    };
    for (i, prefix) in new.iter().enumerate() {
        if let Some(clash) = existing
            .into_iter()
            .flatten()
            .find(|old| overlap(old, prefix))
        {
            return Err(CmdError::msg(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single \
                 client must not overlap.",
                shown(prefix),
                shown(clash)
            )));
        }
        if let Some(other) = new[i + 1..].iter().find(|other| overlap(prefix, other)) {
            return Err(CmdError::msg(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a \
                 single client must not overlap.",
                shown(prefix),
                shown(other)
            )));
        }
    }
    Ok(())
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP].
pub fn client_tracking(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mode = args.bytes()?;
    let mut redirect: i64 = 0;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes: Vec<&[u8]> = Vec::new();
    while let Some(option) = args.peek() {
        let more = args.remaining() > 1;
        args.bytes()?;
        if is_keyword(option, "redirect") && more {
            if redirect != 0 {
                return Err(CmdError::msg(
                    "ERR A client can only redirect to a single other client",
                ));
            }
            redirect = args.int()?;
            if !client_exists(ctx, redirect) {
                return Err(CmdError::msg(
                    "ERR The client ID you want redirect to does not exist",
                ));
            }
        } else if is_keyword(option, "bcast") {
            bcast = true;
        } else if is_keyword(option, "optin") {
            optin = true;
        } else if is_keyword(option, "optout") {
            optout = true;
        } else if is_keyword(option, "noloop") {
            noloop = true;
        } else if is_keyword(option, "prefix") && more {
            prefixes.push(args.bytes()?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let id = ctx.client.id;
    if is_keyword(mode, "off") {
        ctx.server.tracking.disable(id);
        ctx.server.tracking.sync(ctx.ks);
        ctx.client.tracking_prefix_memory = 0;
        ctx.out.ok();
        return Ok(());
    }
    if !is_keyword(mode, "on") {
        return Err(CmdError::Syntax);
    }
    if !bcast && !prefixes.is_empty() {
        return Err(CmdError::msg(
            "ERR PREFIX option requires BCAST mode to be enabled",
        ));
    }
    let current = ctx.server.tracking.clients.get(&id);
    if current.is_some_and(|state| state.bcast != bcast) {
        return Err(CmdError::msg(
            "ERR You can't switch BCAST mode on/off before disabling tracking for this client, \
             and then re-enabling it with a different mode.",
        ));
    }
    if bcast && (optin || optout) {
        return Err(CmdError::msg(
            "ERR OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if optin && optout {
        return Err(CmdError::msg(
            "ERR You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if current.is_some_and(|state| (optin && state.optout) || (optout && state.optin)) {
        return Err(CmdError::msg(
            "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, \
             and then re-enabling it with a different mode.",
        ));
    }
    if bcast {
        check_prefixes(current.map(|state| &state.prefixes), &prefixes)?;
    }
    let tracking = &mut ctx.server.tracking;
    let state = tracking.clients.entry(id).or_default();
    state.redirect = redirect as u64;
    state.bcast = bcast;
    state.optin = optin;
    state.optout = optout;
    state.noloop = noloop;
    state.broken_redirect = false;
    if bcast {
        let wanted: Vec<&[u8]> = if prefixes.is_empty() {
            vec![b""]
        } else {
            prefixes
        };
        for prefix in wanted {
            let broadcast = tracking.prefixes.entry(prefix.to_vec()).or_default();
            if broadcast.clients.insert(id) {
                state.prefixes.insert(prefix.to_vec());
            }
        }
    }
    tracking.sync(ctx.ks);
    ctx.client.tracking_prefix_memory = tracking.prefix_memory(id);
    ctx.out.ok();
    Ok(())
}

/// CLIENT CACHING YES|NO: whether the next command's keys are tracked, in OPTIN/OPTOUT mode.
pub fn client_caching(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let answer = args.bytes()?;
    let Some(state) = ctx.server.tracking.clients.get_mut(&ctx.client.id) else {
        return Err(CmdError::msg(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with \
             OPTIN or OPTOUT mode enabled",
        ));
    };
    if is_keyword(answer, "yes") {
        if !state.optin {
            return Err(CmdError::msg(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if is_keyword(answer, "no") {
        if !state.optout {
            return Err(CmdError::msg(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    state.caching = true;
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR: the redirect client's id, 0 without one, -1 with tracking off.
pub fn client_getredir(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let redirect = match ctx.server.tracking.clients.get(&ctx.client.id) {
        Some(state) => state.redirect as i64,
        None => -1,
    };
    ctx.out.int(redirect);
    Ok(())
}

/// CLIENT TRACKINGINFO: flags, redirect and prefixes of this connection's tracking.
pub fn client_trackinginfo(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let state = ctx.server.tracking.clients.get(&ctx.client.id);
    let mut flags: Vec<&str> = Vec::new();
    match state {
        None => flags.push("off"),
        Some(state) => {
            flags.push("on");
            if state.bcast {
                flags.push("bcast");
            }
            if state.optin {
                flags.push("optin");
                if state.caching {
                    flags.push("caching-yes");
                }
            }
            if state.optout {
                flags.push("optout");
                if state.caching {
                    flags.push("caching-no");
                }
            }
            if state.noloop {
                flags.push("noloop");
            }
            if state.broken_redirect {
                flags.push("broken_redirect");
            }
        }
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for flag in flags {
        out.bulk(flag.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(state.map_or(-1, |state| state.redirect as i64));
    out.bulk(b"prefixes");
    let prefixes = state.map(|state| &state.prefixes);
    out.array(prefixes.map_or(0, BTreeSet::len));
    for prefix in prefixes.into_iter().flatten() {
        out.bulk(prefix);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn options_are_checked_with_redis_errors() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["client", "tracking", "maybe"], "-ERR syntax error\r\n"),
            (
                &["client", "tracking", "on", "nosuch"],
                "-ERR syntax error\r\n",
            ),
            (
                &["client", "tracking", "on", "prefix", "a"],
                "-ERR PREFIX option requires BCAST mode to be enabled\r\n",
            ),
            (
                &["client", "tracking", "on", "redirect", "999"],
                "-ERR The client ID you want redirect to does not exist\r\n",
            ),
            (
                &["client", "tracking", "on", "redirect", "x"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                &["client", "tracking", "on", "bcast", "optin"],
                "-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n",
            ),
            (
                &["client", "tracking", "on", "optin", "optout"],
                "-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n",
            ),
            (
                &["client", "caching", "yes"],
                "-ERR CLIENT CACHING can be called only when the client is in tracking mode \
                 with OPTIN or OPTOUT mode enabled\r\n",
            ),
            (&["client", "getredir"], ":-1\r\n"),
            (&["client", "tracking", "on", "optin"], "+OK\r\n"),
            (
                &["client", "tracking", "on", "optout"],
                "-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this \
                 client, and then re-enabling it with a different mode.\r\n",
            ),
            (
                &["client", "tracking", "on", "bcast"],
                "-ERR You can't switch BCAST mode on/off before disabling tracking for this \
                 client, and then re-enabling it with a different mode.\r\n",
            ),
            (
                &["client", "caching", "no"],
                "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT \
                 mode.\r\n",
            ),
            (&["client", "caching", "maybe"], "-ERR syntax error\r\n"),
            (&["client", "caching", "yes"], "+OK\r\n"),
            (&["client", "getredir"], ":0\r\n"),
            (&["client", "tracking", "off"], "+OK\r\n"),
            (
                &[
                    "client", "tracking", "on", "bcast", "prefix", "ab", "prefix", "a",
                ],
                "-ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a \
                 single client must not overlap.\r\n",
            ),
            (
                &["client", "tracking", "on", "bcast", "prefix", "ab"],
                "+OK\r\n",
            ),
            (
                &["client", "tracking", "on", "bcast", "prefix", "abc"],
                "-ERR Prefix 'abc' overlaps with an existing prefix 'ab'. Prefixes for a single \
                 client must not overlap.\r\n",
            ),
        ]);
    }

    #[test]
    fn trackinginfo_reports_flags_redirect_and_prefixes() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (
                &["client", "trackinginfo"],
                "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n\
                 $8\r\nprefixes\r\n*0\r\n",
            ),
            (
                &[
                    "client", "tracking", "on", "bcast", "prefix", "b", "prefix", "a", "noloop",
                ],
                "+OK\r\n",
            ),
            (
                &["client", "trackinginfo"],
                "*6\r\n$5\r\nflags\r\n*3\r\n$2\r\non\r\n$5\r\nbcast\r\n$6\r\nnoloop\r\n\
                 $8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n",
            ),
        ]);
        assert_eq!(h.server.tracking.total_prefixes(), 2);
        h.run(&["client", "tracking", "off"]);
        assert_eq!(h.server.tracking.total_prefixes(), 0);
        assert!(!h.server.tracking.is_on());
    }

    #[test]
    fn reads_are_remembered_and_forgotten_when_the_key_changes() {
        let mut h = Harness::new();
        h.run(&["client", "tracking", "on"]);
        h.run(&["mget", "a", "b", "c"]);
        h.run(&["get", "a"]);
        assert_eq!(h.server.tracking.total_keys(), 3);
        assert_eq!(h.server.tracking.total_items(), 3);
        // RESP2 without redirect: nothing can be sent, but the key is forgotten.
        assert_eq!(h.text(&["set", "a", "1"]), "+OK\r\n");
        assert_eq!(h.server.tracking.total_keys(), 2);
        assert_eq!(h.text(&["flushall"]), "+OK\r\n");
        assert_eq!(h.server.tracking.total_keys(), 0);
        assert_eq!(h.server.tracking.total_items(), 0);
    }

    #[test]
    fn resp3_invalidation_follows_the_reply_of_the_command_that_caused_it() {
        let mut h = Harness::new();
        h.run(&["hello", "3"]);
        h.run(&["client", "tracking", "on"]);
        h.run(&["hset", "h", "f", "1"]);
        h.run(&["hget", "h", "f"]);
        assert_eq!(
            h.text(&["hdel", "h", "f"]),
            ":1\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nh\r\n"
        );
        h.run(&["get", "k"]);
        assert_eq!(
            h.text(&["flushdb"]),
            "+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n"
        );
    }

    #[test]
    fn optin_tracks_only_after_caching_yes_for_one_command() {
        let mut h = Harness::new();
        h.run(&["client", "tracking", "on", "optin"]);
        h.run(&["get", "a"]);
        assert_eq!(h.server.tracking.total_keys(), 0);
        h.run(&["client", "caching", "yes"]);
        h.run(&["client", "trackinginfo"]);
        h.run(&["get", "b"]);
        h.run(&["get", "c"]);
        assert_eq!(h.server.tracking.total_keys(), 1);
        h.run(&["client", "caching", "yes"]);
        h.run(&["multi"]);
        h.run(&["get", "d"]);
        h.run(&["get", "e"]);
        h.run(&["exec"]);
        assert_eq!(h.server.tracking.total_keys(), 3);
    }

    #[test]
    fn table_bound_forgets_keys() {
        let mut h = Harness::new();
        h.run(&["client", "tracking", "on"]);
        for i in 0..250 {
            h.run(&["get", &format!("k{i}")]);
        }
        h.run(&["config", "set", "tracking-table-max-keys", "10"]);
        // Each pass forgets up to 100 keys, then 200: the next commands bring it down.
        h.run(&["ping"]);
        assert_eq!(h.server.tracking.total_keys(), 150);
        h.run(&["ping"]);
        assert_eq!(h.server.tracking.total_keys(), 10);
    }
}
