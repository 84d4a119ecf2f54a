// The Socket.IO Redis adapter (@socket.io/redis-adapter) in its documented setup: two Socket.IO
// servers sharing one Redis (node-redis clients), clients on each, broadcasts to everyone and
// to rooms crossing from one server to the other, fetchSockets() and serverSideEmit() across
// servers.
//
// Usage: node socketio.js HOST:PORT [all|live]. Prints one observation per line; exits
// non-zero when the adapter broke one of its promises. Phase "live" asks for a server restart
// in its middle (creating the file $APP_RESTART_REQUEST, then waiting for $APP_RESTART_DONE)
// and checks that broadcasts cross between the servers again once the adapters reconnected.
"use strict";

const { say, sleep, check, until } = require("./harness");

const fs = require("fs");
const http = require("http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");
const { io: connectClient } = require("socket.io-client");

const url = `redis://${process.argv[2]}`;

const redisClients = [];

async function startServer(name) {
    const pubClient = createClient({ url });
    const subClient = pubClient.duplicate();
    // node-redis reports a lost connection as an error event, then reconnects by itself.
    for (const client of [pubClient, subClient]) client.on("error", () => {});
    await Promise.all([pubClient.connect(), subClient.connect()]);
    redisClients.push(pubClient, subClient);
    const httpServer = http.createServer();
    const io = new Server(httpServer, { adapter: createAdapter(pubClient, subClient, { requestsTimeout: 3000 }) });
    io.on("connection", (socket) => {
        socket.data.server = name;
        socket.data.user = socket.handshake.auth.user;
        socket.on("join", (room, ack) => {
            socket.join(room);
            ack("joined");
        });
    });
    io.serverSideInbox = [];
    io.on("ping-servers", (payload) => io.serverSideInbox.push(payload));
    await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    io.port = httpServer.address().port;
    return io;
}

function connect(server, user) {
    const socket = connectClient(`http://127.0.0.1:${server.port}`, { auth: { user }, transports: ["websocket"] });
    socket.received = [];
    socket.onAny((event, ...args) => socket.received.push([event, ...args]));
    return new Promise((resolve) => socket.on("connect", () => resolve(socket)));
}

async function main() {
    const admin = createClient({ url });
    admin.on("error", () => {});
    await admin.connect();
    await admin.flushAll();
    const a = await startServer("A");
    const b = await startServer("B");
    const alice = await connect(a, "alice");
    const bob = await connect(b, "bob");
    const carol = await connect(b, "carol");
    say("joined", await bob.emitWithAck("join", "room-1"), await alice.emitWithAck("join", "room-1"));
    // Wait until both adapters subscribed to the request channel (the one they count).
    const subscribed = async () => {
        let counts;
        await until(() => `adapters subscribed: ${JSON.stringify(counts)}`, async () => {
            counts = await admin.pubSubNumSub("socket.io-request#/#").catch(() => ({}));
            return counts["socket.io-request#/#"] === 2;
        });
    };
    await subscribed();
    if (process.argv[3] === "live") {
        fs.writeFileSync(process.env.APP_RESTART_REQUEST, "");
        await until("the restart", () => fs.existsSync(process.env.APP_RESTART_DONE), 90000);
        await subscribed();
        say("adapters subscribed again after the restart");
    }

    for (let i = 0; i < 20; i++) a.emit("news", i);
    for (let i = 0; i < 5; i++) b.to("room-1").emit("room-news", i);
    a.except("room-1").emit("not-in-room", "hi");
    await until("broadcasts arrive", () => bob.received.length === 25 && alice.received.length === 25 && carol.received.length === 21);
    const events = (socket) => socket.received.map(([event, arg]) => `${event}:${arg}`);
    say("bob (on B) got A's broadcast in order", events(bob).filter((e) => e.startsWith("news")).join(",") === [...Array(20).keys()].map((i) => `news:${i}`).join(","));
    say("room broadcast from B", events(alice).filter((e) => e.startsWith("room-news")), events(carol).filter((e) => e.startsWith("room")));
    say("except room", events(carol).filter((e) => e.startsWith("not-in-room")), events(bob).filter((e) => e.startsWith("not-in-room")));

    const everyone = await a.fetchSockets();
    say("fetchSockets from A", everyone.map((s) => `${s.data.user}@${s.data.server}`).sort());
    const inRoom = await b.in("room-1").fetchSockets();
    say("room members from B", inRoom.map((s) => s.data.user).sort());
    a.in(carol.id).socketsJoin("room-2");
    await sleep(200);
    a.to("room-2").emit("room-two", "only carol");
    await until("room-2 message", () => carol.received.some(([event]) => event === "room-two"));
    say("remote socketsJoin", events(carol).filter((e) => e.startsWith("room-two")), events(alice).filter((e) => e.startsWith("room-two")));
    a.serverSideEmit("ping-servers", "from A");
    await until("server-side emit", () => b.serverSideInbox.length === 1);
    say("serverSideEmit", b.serverSideInbox, a.serverSideInbox);

    for (const socket of [alice, bob, carol]) socket.disconnect();
    await Promise.all([a.close(), b.close()]);
    await Promise.all(redisClients.map((client) => client.quit().catch(() => {})));
    await admin.quit();
}

main().then(
    () => process.exit(0),
    (error) => {
        say("ERROR", String(error));
        console.error(error);
        process.exit(1);
    },
);
