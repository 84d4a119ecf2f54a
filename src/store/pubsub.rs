//! The pub/sub registry: who listens to which channel, pattern or shard channel.
//!
//! Only the bookkeeping lives here: clients are plain ids, and publishing reports who must
//! receive a message (through a visitor) without knowing how it is sent. The network layer
//! encodes and delivers.
//!
//! Each subscription is recorded twice, from the channel's side (to publish) and from the
//! client's side (to answer UNSUBSCRIBE without arguments and to clean up on disconnect).

use super::{glob, FastMap, Key};
use indexmap::IndexSet;

/// A connection, as the store knows it.
pub type ClientId = u64;

type IdSet = IndexSet<ClientId, super::Hasher>;
type KeySet = IndexSet<Key, super::Hasher>;

/// The three kinds of subscription Redis has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE: an exact channel name.
    Channel,
    /// PSUBSCRIBE: a glob pattern over channel names.
    Pattern,
    /// SSUBSCRIBE: a shard channel (a separate namespace; one shard here).
    Shard,
}

/// What one client is subscribed to, in subscription order.
#[derive(Debug, Default)]
pub struct ClientSubscriptions {
    pub channels: KeySet,
    pub patterns: KeySet,
    pub shard_channels: KeySet,
}

impl ClientSubscriptions {
    fn of(&self, kind: Kind) -> &KeySet {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    fn of_mut(&mut self, kind: Kind) -> &mut KeySet {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty()
    }
}

/// Every subscription of every client.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: FastMap<Key, IdSet>,
    /// Patterns in the order they were first subscribed (publishing walks them all).
    patterns: indexmap::IndexMap<Key, IdSet, super::Hasher>,
    shard_channels: FastMap<Key, IdSet>,
    clients: FastMap<ClientId, ClientSubscriptions>,
}

impl PubSub {
    pub fn new() -> Self {
        Self::default()
    }

    fn table(&self, kind: Kind) -> Option<&FastMap<Key, IdSet>> {
        match kind {
            Kind::Channel => Some(&self.channels),
            Kind::Shard => Some(&self.shard_channels),
            Kind::Pattern => None,
        }
    }

    fn subscribers_mut(&mut self, kind: Kind, name: &[u8]) -> &mut IdSet {
        let table = match kind {
            Kind::Channel => &mut self.channels,
            Kind::Shard => &mut self.shard_channels,
            Kind::Pattern => {
                return self.patterns.entry(name.into()).or_default();
            }
        };
        table.entry(name.into()).or_default()
    }

    /// Subscribes `client` to `name`; false if it already was. O(1) (plus the length of
    /// `name` for hashing).
    pub fn subscribe(&mut self, client: ClientId, kind: Kind, name: &[u8]) -> bool {
        let subs = self.clients.entry(client).or_default();
        if subs.of(kind).contains(name) {
            return false;
        }
        subs.of_mut(kind).insert(name.into());
        self.subscribers_mut(kind, name).insert(client);
        true
    }

    /// Unsubscribes `client` from `name`; false if it was not subscribed. O(1).
    pub fn unsubscribe(&mut self, client: ClientId, kind: Kind, name: &[u8]) -> bool {
        let Some(subs) = self.clients.get_mut(&client) else {
            return false;
        };
        if !subs.of_mut(kind).swap_remove(name) {
            return false;
        }
        if subs.is_empty() {
            self.clients.remove(&client);
        }
        match kind {
            Kind::Pattern => {
                if let Some(ids) = self.patterns.get_mut(name) {
                    ids.swap_remove(&client);
                    if ids.is_empty() {
                        // Keeps the other patterns in first-subscribed order.
                        self.patterns.shift_remove(name);
                    }
                }
            }
            Kind::Channel | Kind::Shard => {
                let table = if kind == Kind::Channel {
                    &mut self.channels
                } else {
                    &mut self.shard_channels
                };
                if let Some(ids) = table.get_mut(name) {
                    ids.swap_remove(&client);
                    if ids.is_empty() {
                        table.remove(name);
                    }
                }
            }
        }
        true
    }

    /// The names `client` is subscribed to, of one kind, in subscription order. O(n).
    pub fn subscriptions(&self, client: ClientId, kind: Kind) -> Vec<Key> {
        self.clients
            .get(&client)
            .map(|s| s.of(kind).iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many subscriptions of `kind` the client has. O(1).
    pub fn count(&self, client: ClientId, kind: Kind) -> usize {
        self.clients.get(&client).map_or(0, |s| s.of(kind).len())
    }

    /// Channels plus patterns: the number Redis reports in (P)(UN)SUBSCRIBE replies. O(1).
    pub fn channel_and_pattern_count(&self, client: ClientId) -> usize {
        self.clients
            .get(&client)
            .map_or(0, |s| s.channels.len() + s.patterns.len())
    }

    /// Drops every subscription of a client (disconnect, RESET). O(its subscriptions).
    pub fn remove_client(&mut self, client: ClientId) {
        let Some(subs) = self.clients.get(&client) else {
            return;
        };
        let mut all: Vec<(Kind, Key)> = Vec::new();
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            all.extend(subs.of(kind).iter().map(|name| (kind, name.clone())));
        }
        for (kind, name) in all {
            self.unsubscribe(client, kind, &name);
        }
    }

    /// Calls `visit(client, pattern)` for every receiver of a message on `channel`: the
    /// channel's subscribers (pattern `None`) then, for every pattern matching the channel,
    /// its subscribers. Returns how many receivers there were (a client subscribed twice
    /// counts twice, as in Redis). O(subscribers + patterns * match cost).
    pub fn publish(
        &self,
        kind: Kind,
        channel: &[u8],
        mut visit: impl FnMut(ClientId, Option<&[u8]>),
    ) -> usize {
        let mut receivers = 0;
        if let Some(ids) = self.table(kind).and_then(|t| t.get(channel)) {
            for &id in ids {
                visit(id, None);
            }
            receivers += ids.len();
        }
        if kind == Kind::Channel {
            for (pattern, ids) in &self.patterns {
                if glob::matches(pattern, channel) {
                    for &id in ids {
                        visit(id, Some(pattern));
                    }
                    receivers += ids.len();
                }
            }
        }
        receivers
    }

    /// Channels (or shard channels) with at least one subscriber, matching `pattern` if
    /// given. O(channels).
    pub fn active_channels(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Key> {
        self.table(kind)
            .map(|table| {
                table
                    .keys()
                    .filter(|name| pattern.is_none_or(|p| glob::matches(p, name)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Subscribers of one channel, patterns not counted (PUBSUB NUMSUB). O(1).
    pub fn subscriber_count(&self, kind: Kind, channel: &[u8]) -> usize {
        self.table(kind)
            .and_then(|t| t.get(channel))
            .map_or(0, IdSet::len)
    }

    /// Channels (or shard channels) with at least one subscriber (INFO `pubsub_channels`,
    /// `pubsubshard_channels`). O(1).
    pub fn channel_count(&self, kind: Kind) -> usize {
        self.table(kind).map_or(0, |table| table.len())
    }

    /// Distinct patterns with at least one subscriber (PUBSUB NUMPAT). O(1).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receivers(ps: &PubSub, channel: &str) -> Vec<(ClientId, Option<String>)> {
        let mut seen = Vec::new();
        let n = ps.publish(Kind::Channel, channel.as_bytes(), |id, p| {
            seen.push((id, p.map(|p| String::from_utf8_lossy(p).into_owned())))
        });
        assert_eq!(n, seen.len());
        seen
    }

    #[test]
    fn channels_and_patterns_receive() {
        let mut ps = PubSub::new();
        assert!(ps.subscribe(1, Kind::Channel, b"news"));
        assert!(!ps.subscribe(1, Kind::Channel, b"news"));
        assert!(ps.subscribe(2, Kind::Channel, b"news"));
        assert!(ps.subscribe(2, Kind::Pattern, b"n*"));
        assert!(ps.subscribe(3, Kind::Pattern, b"n?ws"));
        assert_eq!(
            receivers(&ps, "news"),
            vec![
                (1, None),
                (2, None),
                (2, Some("n*".into())),
                (3, Some("n?ws".into()))
            ]
        );
        assert_eq!(receivers(&ps, "nope"), vec![(2, Some("n*".into()))]);
        assert_eq!(ps.channel_and_pattern_count(2), 2);
        assert_eq!(ps.subscriber_count(Kind::Channel, b"news"), 2);
        assert_eq!(ps.pattern_count(), 2);
    }

    #[test]
    fn shard_channels_are_a_separate_namespace() {
        let mut ps = PubSub::new();
        ps.subscribe(1, Kind::Shard, b"a");
        ps.subscribe(2, Kind::Pattern, b"*");
        assert_eq!(receivers(&ps, "a"), vec![(2, Some("*".into()))]);
        let mut shard = Vec::new();
        ps.publish(Kind::Shard, b"a", |id, p| shard.push((id, p.is_some())));
        assert_eq!(shard, vec![(1, false)]);
        assert_eq!(ps.channel_and_pattern_count(1), 0);
        assert_eq!(ps.count(1, Kind::Shard), 1);
    }

    #[test]
    fn unsubscribing_cleans_up_both_sides() {
        let mut ps = PubSub::new();
        ps.subscribe(1, Kind::Channel, b"a");
        ps.subscribe(1, Kind::Channel, b"b");
        ps.subscribe(1, Kind::Pattern, b"x*");
        ps.subscribe(2, Kind::Pattern, b"x*");
        assert!(!ps.unsubscribe(1, Kind::Channel, b"zz"));
        assert!(ps.unsubscribe(1, Kind::Channel, b"a"));
        assert_eq!(
            ps.subscriptions(1, Kind::Channel),
            vec![Key::from(&b"b"[..])]
        );
        assert_eq!(
            ps.active_channels(Kind::Channel, None),
            vec![Key::from(&b"b"[..])]
        );
        ps.remove_client(1);
        assert_eq!(ps.channel_and_pattern_count(1), 0);
        assert!(ps.active_channels(Kind::Channel, None).is_empty());
        assert_eq!(ps.pattern_count(), 1);
        ps.remove_client(2);
        assert_eq!(ps.pattern_count(), 0);
        assert!(ps.clients.is_empty());
    }

    #[test]
    fn active_channels_filter_by_pattern() {
        let mut ps = PubSub::new();
        for name in ["news.it", "news.sport", "weather"] {
            ps.subscribe(7, Kind::Channel, name.as_bytes());
        }
        let mut found = ps.active_channels(Kind::Channel, Some(b"news.*"));
        found.sort();
        assert_eq!(
            found,
            vec![Key::from(&b"news.it"[..]), Key::from(&b"news.sport"[..])]
        );
    }
}
