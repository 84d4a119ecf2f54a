// Redlock and rate-limiter-flexible driven as their users drive them: locks acquired, extended
// and released under contention from several processes (a read-modify-write they guard stays
// exact), and rate limits that hold exactly at the boundary, also across processes.
//
// Usage: node locks.js HOST:PORT [all|before|after]. Prints one observation per line; exits
// non-zero when a library broke one of its promises. Phase "before" takes a long lock and uses
// up a limit, "after" (possibly after a server restart) finds both still in force. (Run as
// "lock-contender" or "limit-contender", it is one of its own contending child processes.)
"use strict";

const { say, sleep, check } = require("./harness");

const { fork } = require("child_process");
const IORedis = require("ioredis");
const Redlock = require("redlock");
const { RateLimiterRedis } = require("rate-limiter-flexible");

const [host, port] = process.argv[2].split(":");
const role = process.argv[3] || "all";
const connection = { host, port: Number(port) };
const PROCESSES = 4;
const ROUNDS = 25;

function redlockFor(client) {
    return new Redlock([client], { retryCount: 400, retryDelay: 10, retryJitter: 10 });
}

// One contending process: ROUNDS increments of a counter read and written under the lock.
async function lockContender(client) {
    const redlock = redlockFor(client);
    for (let i = 0; i < ROUNDS; i++) {
        const lock = await redlock.lock("locks:counter-lock", 2000);
        const value = Number(await client.get("locks:counter"));
        await sleep(1);
        await client.set("locks:counter", value + 1);
        await lock.unlock();
    }
}

// One contending process: consumes from a shared limit of 10 points, counting what it got.
async function limitContender(client) {
    const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: "shared", points: 10, duration: 30 });
    let granted = 0;
    for (let i = 0; i < 6; i++) {
        try {
            await limiter.consume("everyone");
            granted++;
        } catch (rejection) {
            check(rejection.remainingPoints === 0, "a rejection reports no points left");
        }
    }
    return granted;
}

function runContenders(which) {
    return Promise.all(
        Array.from({ length: PROCESSES }, () => new Promise((resolve, reject) => {
            const child = fork(__filename, [process.argv[2], which], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
            let output = "";
            child.stdout.on("data", (chunk) => (output += chunk));
            child.on("exit", (code) => (code === 0 ? resolve(output.trim()) : reject(new Error(`${which} exited ${code}: ${output}`))));
        })),
    );
}

async function redlock(client) {
    const locks = redlockFor(client);
    const lock = await locks.lock("locks:resource", 500);
    say("lock value set", (await client.get("locks:resource")) === lock.value);
    const rival = new Redlock([client], { retryCount: 2, retryDelay: 50 });
    try {
        await rival.lock("locks:resource", 500);
        say("rival lock", "acquired");
    } catch (error) {
        say("rival lock", error.name);
    }
    const extended = await lock.extend(5000);
    const ttl = await client.pttl("locks:resource");
    check(ttl > 4000 && ttl <= 5000, `extend sets the ttl: ${ttl}`);
    say("extended", extended.value === lock.value);
    await extended.unlock();
    say("after unlock", await client.exists("locks:resource"));
    try {
        await extended.unlock();
        say("second unlock", "no error");
    } catch (error) {
        say("second unlock", error.name);
    }

    await client.set("locks:counter", 0);
    await runContenders("lock-contender");
    say("counter guarded across processes", await client.get("locks:counter"));
}

async function rateLimits(client) {
    const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: "api", points: 5, duration: 2 });
    const outcomes = [];
    for (let i = 0; i < 7; i++) {
        try {
            const res = await limiter.consume("user-1");
            outcomes.push(`ok ${res.remainingPoints}`);
        } catch (res) {
            outcomes.push(`rejected ${res.remainingPoints} ${res.consumedPoints}`);
        }
    }
    say("consume 7 of 5", outcomes);
    const state = await limiter.get("user-1");
    say("state", state.consumedPoints, state.msBeforeNext > 0 && state.msBeforeNext <= 2000);
    await limiter.reward("user-1", 3);
    say("after reward", (await limiter.get("user-1")).consumedPoints);
    const blocker = new RateLimiterRedis({ storeClient: client, keyPrefix: "login", points: 2, duration: 10, blockDuration: 60 });
    await blocker.consume("ip");
    await blocker.consume("ip");
    await blocker.consume("ip").catch(() => {});
    const blocked = await blocker.get("ip");
    say("blocked for a minute", blocked.msBeforeNext > 50000);
    say("delete", await limiter.delete("user-1"), await limiter.get("user-1"));
    const granted = (await runContenders("limit-contender")).map(Number);
    say("granted across processes", granted.reduce((a, b) => a + b, 0));
    // After the window, the points come back.
    const short = new RateLimiterRedis({ storeClient: client, keyPrefix: "short", points: 1, duration: 1 });
    await short.consume("k");
    const second = await short.consume("k").then(() => "ok", () => "rejected");
    await sleep(1100);
    const third = await short.consume("k").then(() => "ok", () => "rejected");
    say("window", second, third);
}

async function before(client) {
    const lock = await redlockFor(client).lock("locks:durable", 600000);
    await client.set("locks:durable-value", lock.value);
    const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: "durable", points: 3, duration: 600 });
    for (let i = 0; i < 3; i++) await limiter.consume("user");
    say("durable lock and limit taken");
}

async function after(client) {
    const rival = new Redlock([client], { retryCount: 1, retryDelay: 20 });
    const taken = await rival.lock("locks:durable", 1000).then(() => "acquired", (error) => error.name);
    say("rival while the durable lock is held", taken);
    const value = await client.get("locks:durable-value");
    const lock = new Redlock.Lock(redlockFor(client), "locks:durable", value, Date.now() + 600000);
    await lock.unlock();
    say("owner unlocks", await client.exists("locks:durable"));
    const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: "durable", points: 3, duration: 600 });
    const outcome = await limiter.consume("user").then(() => "granted", (res) => `rejected ${res.consumedPoints}`);
    say("limit still used up", outcome);
}

async function main() {
    const client = new IORedis(connection);
    if (role === "lock-contender") {
        await lockContender(client);
    } else if (role === "limit-contender") {
        console.log(await limitContender(client));
    } else {
        if (role !== "after") await client.flushall();
        if (role === "all") {
            await redlock(client);
            await rateLimits(client);
        }
        if (role !== "after") await before(client);
        if (role !== "before") await after(client);
    }
    client.disconnect();
}

main().then(
    () => process.exit(0),
    (error) => {
        say("ERROR", String(error));
        console.error(error);
        process.exit(1);
    },
);
