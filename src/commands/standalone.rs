//! Commands run without a network: a keyspace, a server and one client, each request going
//! through the same funnel ([`super::execute`]) a connection's requests take. The command
//! fuzz target drives it; nothing here waits or touches a socket.

use super::{execute, ClientState, Ctx, NoClients, Server};
use crate::config::Config;
use crate::protocol::{Protover, ReplyBuf};
use crate::store::Keyspace;

/// One client's view of a server with no network around it.
pub struct Standalone {
    pub ks: Keyspace,
    pub server: Server,
    pub client: ClientState,
    out: ReplyBuf,
}

impl Standalone {
    /// A server with `config` and an empty keyspace whose clock reads `now_ms`, and one
    /// authenticated client.
    pub fn new(config: Config, now_ms: u64) -> Self {
        let mut ks = Keyspace::new(config.databases.max(1));
        ks.set_clock(now_ms);
        super::sync_store_settings(&mut ks, &config);
        Standalone {
            ks,
            server: Server::new(config, now_ms),
            client: ClientState {
                authenticated: true,
                ..Default::default()
            },
            out: ReplyBuf::new(Protover::Resp2),
        }
    }

    /// Runs one request (`argv` not empty) and returns its reply bytes. A blocking command
    /// that found nothing is not parked (there is no reactor to wake it): its request to wait
    /// is dropped, and so are messages for other connections.
    pub fn run(&mut self, argv: &[&[u8]]) -> &[u8] {
        self.out.truncate(0);
        if argv.is_empty() {
            return self.out.bytes();
        }
        let mut ctx = Ctx {
            ks: &mut self.ks,
            server: &mut self.server,
            client: &mut self.client,
            clients: &NoClients,
            out: &mut self.out,
        };
        execute(&mut ctx, argv);
        self.client.block = None;
        self.server.outbox.clear();
        self.out.bytes()
    }
}
