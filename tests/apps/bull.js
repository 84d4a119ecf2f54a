// Bull (the classic queue, built on Lua scripts, BRPOPLPUSH and pub/sub) driven as its users
// drive it: two processing queues on one Redis, jobs with priorities, delays, retries with
// backoff, a job that fails for good, global events, pausing and resuming, and results.
//
// Usage: node bull.js HOST:PORT [all|before|after|live]. Prints one observation per line;
// exits non-zero when Bull broke one of its promises. Phase "before" adds the jobs and works
// some; "after" (possibly after a server restart) works the rest and checks that none was
// lost; "live" asks for the restart while its workers are busy (creating $APP_RESTART_REQUEST,
// then waiting for $APP_RESTART_DONE).
"use strict";

const { say, sleep, check, until } = require("./harness");

// bull-v3.js runs this same workload on Bull 3 (npm's bull@3, installed as "bull-v3").
const Queue = require(process.env.APP_BULL_MODULE || "bull");
const fs = require("fs");
const IORedis = require("ioredis");

const [host, port] = process.argv[2].split(":");
const phase = process.argv[3] || "all";
const redis = { host, port: Number(port) };
const JOBS = 300;

// "sum" jobs return a result, "flaky" ones fail their first data.failures attempts (Bull counts
// them in the job, so across restarts), "doomed" ones always fail.
async function processor(job) {
    if (job.name === "doomed") throw new Error("doomed to fail");
    if (job.name === "flaky" && job.attemptsMade < job.data.failures) {
        throw new Error(`attempt ${job.attemptsMade + 1} fails`);
    }
    return { sum: job.data.a + job.data.b, tries: job.attemptsMade + 1 };
}

// Two queue objects (as two processes would have) processing the same queue. A worker that
// stops leaves the jobs it had just fetched "active" until their lock expires and the
// stalled-job check hands them out again: here after 2 s rather than Bull's default 30 s.
function workers(handled) {
    return [1, 2].map(() => {
        const settings = { lockDuration: 2000, stalledInterval: 500 };
        const queue = new Queue("jobs", { redis, settings });
        queue.process("*", 4, processor);
        queue.on("completed", (job) => handled.add(job.id));
        return queue;
    });
}

async function before(queue) {
    for (let i = 0; i < JOBS; i++) {
        const opts = { jobId: `job-${i}` };
        if (i % 10 === 0) opts.priority = 1 + (i % 7);
        if (i % 25 === 0) opts.delay = 300;
        let name = "sum";
        if (i % 50 === 7) {
            name = "flaky";
            opts.attempts = 3;
            opts.backoff = { type: "exponential", delay: 50 };
        }
        await queue.add(name, { a: i, b: 1, failures: 2 }, opts);
    }
    await queue.add("doomed", {}, { jobId: "doomed", attempts: 2, backoff: { type: "fixed", delay: 50 } });
    say("counts after adding", await queue.getJobCounts());
    const handled = new Set();
    const pool = workers(handled);
    await until("100 completions", () => handled.size >= 100);
    await Promise.all(pool.map((q) => q.close()));
    say("completed before stopping", handled.size >= 100);
}

async function after(queue) {
    const completedEvents = new Set();
    const failedEvents = [];
    queue.on("global:completed", (jobId) => completedEvents.add(jobId));
    queue.on("global:failed", (jobId, reason) => failedEvents.push([jobId, reason]));
    await queue.isReady();
    const pool = workers(new Set());
    let counts;
    await until(() => `every job finished: ${JSON.stringify(counts)}`, async () => {
        counts = await queue.getJobCounts();
        return counts.completed + counts.failed === JOBS + 1;
    });
    say("final counts", await queue.getJobCounts());
    const completed = await queue.getCompleted(0, -1);
    const sums = completed.map((job) => job.returnvalue.sum).sort((a, b) => a - b);
    check(sums.length === JOBS, `every job completed (${sums.length})`);
    say("results", sums.every((sum, i) => sum === i + 1));
    const flaky = await queue.getJob("job-7");
    say("flaky", flaky.attemptsMade, flaky.returnvalue, await flaky.getState());
    const doomed = await queue.getJob("doomed");
    say("doomed", await doomed.getState(), doomed.failedReason, doomed.attemptsMade);

    // A job's result through its finished() promise (pub/sub underneath).
    const job = await queue.add("sum", { a: 40, b: 2, failures: 0 }, { jobId: "awaited" });
    say("finished", await job.finished());
    await until("global events", () => completedEvents.has("awaited"));
    say("global failed event", failedEvents.filter(([id]) => id === "doomed").length > 0);
    await Promise.all(pool.map((q) => q.close()));
}

// Priorities, pausing and resuming on their own queue with one job at a time.
async function priorities() {
    const queue = new Queue("prio", { redis });
    await queue.pause();
    for (const [i, priority] of [5, 1, 3, 1, 2, 4, 2].entries()) {
        await queue.add({ i }, { priority, jobId: `p${i}` });
    }
    const order = [];
    queue.process(1, async (job) => order.push(job.id));
    await sleep(300);
    say("paused queue processed", order.length, "isPaused", await queue.isPaused());
    await queue.resume();
    await until("priority jobs", () => order.length === 7);
    say("priority order", order);
    await queue.close();
}

async function repeatable() {
    const queue = new Queue("repeat", { redis });
    let runs = 0;
    queue.process(async () => ++runs);
    await queue.add({}, { repeat: { every: 150, limit: 3 } });
    await until("three repetitions", () => runs === 3);
    await sleep(400);
    say("repeatable runs", runs);
    await queue.close();
}

// The restart comes while both processing queues are busy: they reconnect by themselves, and
// jobs whose completion was cut off are handed out again by the stalled-job check, so every
// job still completes.
async function live(queue) {
    for (let i = 0; i < JOBS; i++) {
        const opts = { jobId: `job-${i}` };
        if (i % 10 === 0) opts.priority = 1 + (i % 7);
        await queue.add("sum", { a: i, b: 1 }, opts);
    }
    const handled = new Set();
    const pool = workers(handled);
    for (const q of pool) q.on("error", () => {});
    await until("100 completions", () => handled.size >= 100);
    fs.writeFileSync(process.env.APP_RESTART_REQUEST, "");
    await until("the restart", () => fs.existsSync(process.env.APP_RESTART_DONE), 90000);
    let counts;
    await until(() => `every job after the restart: ${JSON.stringify(counts)}`, async () => {
        counts = await queue.getJobCounts().catch(() => ({}));
        return counts.completed === JOBS;
    }, 60000);
    say("final counts", await queue.getJobCounts());
    const sums = (await queue.getCompleted(0, -1)).map((job) => job.returnvalue.sum).sort((a, b) => a - b);
    say("results after a restart mid-work", sums.length, sums.every((sum, i) => sum === i + 1));
    await Promise.all(pool.map((q) => q.close()));
}

async function main() {
    const queue = new Queue("jobs", { redis });
    if (phase !== "after") {
        const client = new IORedis(redis);
        await client.flushall();
        client.disconnect();
    }
    if (phase === "all") {
        await priorities();
        await repeatable();
    }
    if (phase === "live") {
        queue.on("error", () => {});
        await live(queue);
    } else {
        if (phase !== "after") await before(queue);
        if (phase !== "before") await after(queue);
    }
    await queue.close();
}

main().then(
    () => process.exit(0),
    (error) => {
        say("ERROR", String(error));
        console.error(error);
        process.exit(1);
    },
);
