//! Pub/Sub commands, message encoding and keyspace notifications.
//!
//! Handlers never touch other connections. Publishing encodes each message once (RESP2
//! framing) into the server's [`Outbox`] and lists who must receive it; after the command the
//! network layer copies the bytes into each receiver's output buffer, turning the leading `*`
//! into RESP3's `>` for connections that said `HELLO 3`. A message for the publishing
//! connection itself is written straight into its reply buffer, where Redis puts it too
//! (before the command's own reply).
//!
//! Keyspace notifications ([`notify_keyspace_event`], reached through `Ctx::notify`) are
//! ordinary publishes on `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`.
//! Events the store itself causes (a key expiring, created, missed) are recorded by the
//! keyspace and published here, in order, before the next event of the command and after it.

use super::table::{CommandSpec, Flags};
use super::{Args, CmdResult, Ctx, ReplyMode, Server};
use crate::config::{Config, KeyspaceEvents};
use crate::protocol::{Protover, ReplyBuf};
use crate::store::pubsub::Kind;
use crate::store::{KeyEventKind, Keyspace};

/// One message for one connection: a range of the outbox's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub client: u64,
    start: usize,
    end: usize,
    /// The bytes are an aggregate to send as a RESP3 push to RESP3 connections.
    pub push: bool,
}

/// The most the outbox's byte buffer keeps between deliveries (a reply buffer's size).
const OUTBOX_KEPT_BYTES: usize = 16 * 1024;

/// What the running command asks the network layer to do to other connections.
#[derive(Debug)]
pub struct Outbox {
    /// Encoded messages back to back, in RESP2 framing.
    bytes: ReplyBuf,
    deliveries: Vec<Delivery>,
    /// Connections to close (CLIENT KILL), by id.
    pub kills: Vec<u64>,
    /// Blocked connections to release (CLIENT UNBLOCK): id, and whether with an error
    /// (instead of the timeout reply).
    pub unblocks: Vec<(u64, bool)>,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            bytes: ReplyBuf::new(Protover::Resp2),
            deliveries: Vec::new(),
            kills: Vec::new(),
            unblocks: Vec::new(),
        }
    }
}

impl Outbox {
    /// True when there is nothing to deliver or do.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.deliveries.is_empty() && self.kills.is_empty() && self.unblocks.is_empty()
    }

    /// The messages to deliver, in order: (client id, encoded bytes, is a push).
    pub fn deliveries(&self) -> impl Iterator<Item = (u64, &[u8], bool)> {
        let bytes = self.bytes.bytes();
        self.deliveries
            .iter()
            .map(move |d| (d.client, &bytes[d.start..d.end], d.push))
    }

    /// Empties the outbox, keeping its buffer for reuse up to [`OUTBOX_KEPT_BYTES`]: a bigger
    /// one, kept after a burst (invalidations for many evicted keys), would count against
    /// `maxmemory` and make eviction feed itself.
    pub fn clear(&mut self) {
        self.bytes.consume(usize::MAX);
        if self.bytes.capacity() > OUTBOX_KEPT_BYTES {
            self.bytes.resize_capacity(0);
        }
        self.deliveries.clear();
        self.kills.clear();
        self.unblocks.clear();
    }

    /// Queues already-encoded bytes for one client.
    pub fn deliver(&mut self, client: u64, bytes: &[u8], push: bool) {
        let start = self.bytes.len();
        self.bytes.raw(bytes);
        self.deliveries.push(Delivery {
            client,
            start,
            end: self.bytes.len(),
            push,
        });
    }

    fn slice(&self, range: (usize, usize)) -> &[u8] {
        &self.bytes.bytes()[range.0..range.1]
    }

    /// Encodes a message or pmessage once; returns its byte range.
    fn encode(
        &mut self,
        kind: Kind,
        pattern: Option<&[u8]>,
        channel: &[u8],
        message: &[u8],
    ) -> (usize, usize) {
        let start = self.bytes.len();
        let out = &mut self.bytes;
        match pattern {
            Some(pattern) => {
                out.array(4);
                out.bulk(b"pmessage");
                out.bulk(pattern);
            }
            None => {
                out.array(3);
                out.bulk(if kind == Kind::Shard {
                    b"smessage"
                } else {
                    b"message"
                });
            }
        }
        out.bulk(channel);
        out.bulk(message);
        (start, self.bytes.len())
    }
}

/// Appends an encoded message to a connection's output: as a RESP3 push (`>`) when the
/// connection speaks RESP3 and the message is an aggregate in RESP2 framing (`*`).
pub fn append_message(out: &mut ReplyBuf, bytes: &[u8], push: bool) {
    match bytes.split_first() {
        Some((b'*', rest)) if push && out.is_resp3() => {
            out.raw(b">");
            out.raw(rest);
        }
        _ => out.raw(bytes),
    }
}

/// Publishes `message` on `channel` to every receiver; `me` is the running connection (its
/// id and reply buffer), which gets its copy directly. Returns the number of receivers.
/// O(receivers + patterns).
pub fn publish(
    server: &mut Server,
    mut me: Option<(u64, &mut ReplyBuf)>,
    kind: Kind,
    channel: &[u8],
    message: &[u8],
) -> usize {
    let Server { pubsub, outbox, .. } = server;
    let mut plain: Option<(usize, usize)> = None;
    // The pmessage encoded last, and where its pattern sits inside it: receivers come
    // grouped by pattern, so each pattern's message is encoded once.
    let mut patterned: Option<((usize, usize), (usize, usize))> = None;
    pubsub.publish(kind, channel, |id, pattern| {
        let range = match pattern {
            None => *plain.get_or_insert_with(|| outbox.encode(kind, None, channel, message)),
            Some(pattern) => match patterned {
                Some((range, at)) if outbox.slice(at) == pattern => range,
                _ => {
                    let range = outbox.encode(kind, Some(pattern), channel, message);
                    // `*4\r\n$8\r\npmessage\r\n$<len>\r\n` precedes the pattern.
                    let header = 4 + 14 + 3 + itoa::Buffer::new().format(pattern.len()).len();
                    let at = (range.0 + header, range.0 + header + pattern.len());
                    patterned = Some((range, at));
                    range
                }
            },
        };
        match me.as_mut() {
            Some((my_id, out)) if *my_id == id => append_message(out, outbox.slice(range), true),
            _ => outbox.deliveries.push(Delivery {
                client: id,
                start: range.0,
                end: range.1,
                push: true,
            }),
        }
    })
}

/// Commands a RESP2 connection may run while subscribed.
pub fn allowed_in_context(spec: &CommandSpec) -> bool {
    spec.flags.contains(Flags::SUBSCRIBER_ALLOWED)
}

// ---------------------------------------------------------------------------------------------
// Keyspace notifications
// ---------------------------------------------------------------------------------------------

/// Publishes one keyspace event (see `Ctx::notify`), after any event the store recorded
/// before it.
pub fn notify_keyspace_event(ctx: &mut Ctx, class: u16, event: &str, key: &[u8], db: usize) {
    if ctx.ks.has_key_events() {
        publish_key_events(ctx);
    }
    let _ = class;
    let me = Some((ctx.client.id, &mut *ctx.out));
    publish_event(ctx.server, me, event.as_bytes(), key, db);
}

fn publish_event(
    server: &mut Server,
    mut me: Option<(u64, &mut ReplyBuf)>,
    event: &[u8],
    key: &[u8],
    db: usize,
) {
    let events = server.config.notify_keyspace_events.0;
    let mut db_digits = itoa::Buffer::new();
    let db_text = db_digits.format(db).as_bytes();
    let mut channel = Vec::with_capacity(24 + key.len().max(event.len()));
    if events & KeyspaceEvents::KEYSPACE != 0 {
        channel.extend_from_slice(b"__keyspace@");
        channel.extend_from_slice(db_text);
        channel.extend_from_slice(b"__:");
        channel.extend_from_slice(key);
        let me = me.as_mut().map(|(id, out)| (*id, &mut **out));
        publish(server, me, Kind::Channel, &channel, event);
    }
    if events & KeyspaceEvents::KEYEVENT != 0 {
        channel.clear();
        channel.extend_from_slice(b"__keyevent@");
        channel.extend_from_slice(db_text);
        channel.extend_from_slice(b"__:");
        channel.extend_from_slice(event);
        publish(server, me, Kind::Channel, &channel, key);
    }
}

/// Publishes the events the store recorded (expired, new, keymiss) for the running command.
/// A RESP3 client subscribed to them gets its pushes ahead of the command's reply (at
/// `reply_start`, which moves past them), as Redis sends them during the key's lookup, before
/// it replies.
pub fn publish_key_events(ctx: &mut Ctx) {
    let mut mine = ReplyBuf::new(ctx.out.proto());
    drain_key_events(ctx.ks, ctx.server, Some((ctx.client.id, &mut mine)));
    if !mine.is_empty() {
        ctx.out.insert(ctx.client.reply_start, mine.bytes());
        ctx.client.reply_start += mine.len();
    }
}

/// Publishes the events the store recorded outside any command (the active expiry cycle).
pub fn publish_background_key_events(ks: &mut Keyspace, server: &mut Server) {
    drain_key_events(ks, server, None);
}

fn drain_key_events(ks: &mut Keyspace, server: &mut Server, mut me: Option<(u64, &mut ReplyBuf)>) {
    let events = server.config.notify_keyspace_events;
    for event in ks.take_key_events() {
        let (class, name): (u16, &[u8]) = match event.kind {
            KeyEventKind::Expired => (KeyspaceEvents::EXPIRED, b"expired"),
            KeyEventKind::New => (KeyspaceEvents::NEW, b"new"),
            KeyEventKind::Miss => (KeyspaceEvents::KEY_MISS, b"keymiss"),
            KeyEventKind::Evicted => (KeyspaceEvents::EVICTED, b"evicted"),
        };
        if events.wants(class) {
            let me = me.as_mut().map(|(id, out)| (*id, &mut **out));
            publish_event(server, me, name, &event.key, event.db);
        }
    }
}

/// Makes the keyspace record exactly the key events `notify-keyspace-events` asks for.
pub fn sync_key_event_kinds(ks: &mut Keyspace, config: &Config) {
    let events = config.notify_keyspace_events;
    let mut kinds = 0;
    for (class, kind) in [
        (KeyspaceEvents::EXPIRED, KeyEventKind::Expired),
        (KeyspaceEvents::NEW, KeyEventKind::New),
        (KeyspaceEvents::KEY_MISS, KeyEventKind::Miss),
        (KeyspaceEvents::EVICTED, KeyEventKind::Evicted),
    ] {
        if events.wants(class) {
            kinds |= kind as u8;
        }
    }
    ks.set_key_event_kinds(kinds);
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

fn slot(kind: Kind) -> usize {
    match kind {
        Kind::Channel => 0,
        Kind::Pattern => 1,
        Kind::Shard => 2,
    }
}

/// The count (P|S)(UN)SUBSCRIBE replies carry: channels plus patterns, or shard channels.
fn reply_count(ctx: &Ctx, kind: Kind) -> i64 {
    let id = ctx.client.id;
    (if kind == Kind::Shard {
        ctx.server.pubsub.count(id, Kind::Shard)
    } else {
        ctx.server.pubsub.channel_and_pattern_count(id)
    }) as i64
}

fn refresh_counts(ctx: &mut Ctx, kind: Kind) {
    let count = ctx.server.pubsub.count(ctx.client.id, kind);
    ctx.client.subscriptions[slot(kind)] = count as u32;
}

fn subscription_reply(ctx: &mut Ctx, word: &[u8], name: Option<&[u8]>, count: i64) {
    if ctx.client.reply_mode != ReplyMode::On {
        ctx.client.replied_with_push = true;
    }
    ctx.out.push(3);
    ctx.out.bulk(word);
    match name {
        Some(name) => ctx.out.bulk(name),
        None => ctx.out.null(),
    }
    ctx.out.int(count);
}

fn subscribe_kind(ctx: &mut Ctx, args: &mut Args, kind: Kind, word: &[u8]) -> CmdResult {
    for name in args.rest() {
        ctx.server.pubsub.subscribe(ctx.client.id, kind, name);
        refresh_counts(ctx, kind);
        let count = reply_count(ctx, kind);
        subscription_reply(ctx, word, Some(name), count);
    }
    Ok(())
}

fn unsubscribe_kind(ctx: &mut Ctx, args: &mut Args, kind: Kind, word: &[u8]) -> CmdResult {
    let names = args.rest();
    if names.is_empty() {
        let current = ctx.server.pubsub.subscriptions(ctx.client.id, kind);
        if current.is_empty() {
            let count = reply_count(ctx, kind);
            subscription_reply(ctx, word, None, count);
        }
        for name in current {
            ctx.server.pubsub.unsubscribe(ctx.client.id, kind, &name);
            refresh_counts(ctx, kind);
            let count = reply_count(ctx, kind);
            subscription_reply(ctx, word, Some(&name), count);
        }
        return Ok(());
    }
    for name in names {
        ctx.server.pubsub.unsubscribe(ctx.client.id, kind, name);
        refresh_counts(ctx, kind);
        let count = reply_count(ctx, kind);
        subscription_reply(ctx, word, Some(name), count);
    }
    Ok(())
}

pub fn subscribe(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Channel, b"subscribe")
}

pub fn unsubscribe(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Channel, b"unsubscribe")
}

pub fn psubscribe(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Pattern, b"psubscribe")
}

pub fn punsubscribe(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Pattern, b"punsubscribe")
}

pub fn ssubscribe(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Shard, b"ssubscribe")
}

pub fn sunsubscribe(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Shard, b"sunsubscribe")
}

/// Drops every subscription of the running connection without replying (RESET).
pub fn unsubscribe_all_silently(ctx: &mut Ctx) {
    ctx.server.pubsub.remove_client(ctx.client.id);
    ctx.client.subscriptions = [0; 3];
}

fn publish_kind(ctx: &mut Ctx, args: &mut Args, kind: Kind) -> CmdResult {
    let (channel, message) = (args.bytes()?, args.bytes()?);
    let me = Some((ctx.client.id, &mut *ctx.out));
    let receivers = publish(ctx.server, me, kind, channel, message);
    ctx.out.int(receivers as i64);
    Ok(())
}

pub fn publish_cmd(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    publish_kind(ctx, args, Kind::Channel)
}

pub fn spublish(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    publish_kind(ctx, args, Kind::Shard)
}

fn channels_kind(ctx: &mut Ctx, args: &mut Args, kind: Kind) -> CmdResult {
    if args.remaining() > 1 {
        return Err(args.subcommand_syntax_error());
    }
    let pattern = if args.is_empty() {
        None
    } else {
        Some(args.bytes()?)
    };
    let names = ctx.server.pubsub.active_channels(kind, pattern);
    ctx.out.array(names.len());
    for name in &names {
        ctx.out.bulk(name);
    }
    Ok(())
}

fn numsub_kind(ctx: &mut Ctx, args: &mut Args, kind: Kind) -> CmdResult {
    let names = args.rest();
    ctx.out.array(names.len() * 2);
    for name in names {
        ctx.out.bulk(name);
        let count = ctx.server.pubsub.subscriber_count(kind, name);
        ctx.out.int(count as i64);
    }
    Ok(())
}

pub fn pubsub_channels(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    channels_kind(ctx, args, Kind::Channel)
}

pub fn pubsub_shardchannels(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    channels_kind(ctx, args, Kind::Shard)
}

pub fn pubsub_numsub(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    numsub_kind(ctx, args, Kind::Channel)
}

pub fn pubsub_shardnumsub(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    numsub_kind(ctx, args, Kind::Shard)
}

pub fn pubsub_numpat(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let patterns = ctx.server.pubsub.pattern_count();
    ctx.out.int(patterns as i64);
    Ok(())
}

pub fn pubsub_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    super::reply::help_reply(
        ctx,
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::Harness;

    #[test]
    fn subscribe_replies_and_context_rules() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["subscribe", "a", "b"], "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"),
            (&["get", "x"], "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"),
            (&["ping"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n"),
            (&["psubscribe", "p*"], "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n"),
            (&["unsubscribe"], "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n"),
            (&["unsubscribe"], "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n"),
            (&["punsubscribe", "p*", "zz"], "*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n*3\r\n$12\r\npunsubscribe\r\n$2\r\nzz\r\n:0\r\n"),
        ]);
        assert_eq!(h.text(&["get", "x"]), "$-1\r\n", "out of the context");
    }

    #[test]
    fn publish_to_self_comes_before_the_count() {
        let mut h = Harness::new();
        h.run(&["hello", "3"]);
        h.run(&["subscribe", "ch"]);
        h.run(&["psubscribe", "c*"]);
        assert_eq!(
            h.text(&["publish", "ch", "hi"]),
            ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n\
             >4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n:2\r\n"
        );
        assert!(h.server.outbox.is_empty());
    }

    #[test]
    fn messages_for_others_go_to_the_outbox_encoded_once_per_pattern() {
        let mut h = Harness::new();
        for id in [10, 11] {
            h.server.pubsub.subscribe(id, Kind::Pattern, b"n*");
        }
        h.server.pubsub.subscribe(12, Kind::Channel, b"news");
        assert_eq!(h.text(&["publish", "news", "x"]), ":3\r\n");
        let got: Vec<(u64, Vec<u8>)> = h
            .server
            .outbox
            .deliveries()
            .map(|(id, bytes, _)| (id, bytes.to_vec()))
            .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            (
                12,
                b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\nx\r\n".to_vec()
            )
        );
        let pmessage = b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$1\r\nx\r\n".to_vec();
        assert_eq!(got[1], (10, pmessage.clone()));
        assert_eq!(got[2], (11, pmessage));
        let mut r3 = ReplyBuf::new(Protover::Resp3);
        append_message(&mut r3, &got[0].1, true);
        assert!(r3.bytes().starts_with(b">3\r\n"));
    }

    #[test]
    fn pubsub_introspection() {
        let mut h = Harness::new();
        h.server.pubsub.subscribe(5, Kind::Channel, b"a");
        h.server.pubsub.subscribe(6, Kind::Pattern, b"x*");
        h.assert_replies(&[
            (&["pubsub", "channels"], "*1\r\n$1\r\na\r\n"),
            (&["pubsub", "channels", "b*"], "*0\r\n"),
            (&["pubsub", "channels", "a", "b"], "-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.\r\n"),
            (&["pubsub", "numsub", "a", "x"], "*4\r\n$1\r\na\r\n:1\r\n$1\r\nx\r\n:0\r\n"),
            (&["pubsub", "numpat"], ":1\r\n"),
        ]);
    }

    #[test]
    fn keyspace_notifications_follow_the_configured_classes() {
        let mut h = Harness::new();
        h.server.pubsub.subscribe(9, Kind::Pattern, b"__key*");
        h.run(&["set", "k", "v"]);
        assert!(h.server.outbox.is_empty(), "off by default");
        h.run(&["config", "set", "notify-keyspace-events", "KEA"]);
        h.run(&["set", "k", "v"]);
        let channels: Vec<String> = h
            .server
            .outbox
            .deliveries()
            .map(|(_, bytes, _)| String::from_utf8_lossy(bytes).into_owned())
            .collect();
        assert_eq!(channels.len(), 2);
        assert!(
            channels[0].contains("__keyspace@0__:k\r\n$3\r\nset"),
            "{channels:?}"
        );
        assert!(
            channels[1].contains("__keyevent@0__:set\r\n$1\r\nk"),
            "{channels:?}"
        );
    }
}
