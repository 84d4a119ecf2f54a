// BullMQ driven as its users drive it: a queue and two workers, 1,000 jobs with priorities,
// delays, retries with backoff, a job that fails for good, a repeatable job, QueueEvents
// (streams read with XREAD BLOCK), pausing and resuming, and results.
//
// Usage: node bullmq.js HOST:PORT [all|before|after|live]. Prints one observation per line;
// exits non-zero when BullMQ broke one of its promises. Phase "before" adds the jobs and works
// some; "after" (possibly after a server restart) works the rest and checks that none was
// lost; "live" asks for the restart while its workers are busy (creating $APP_RESTART_REQUEST,
// then waiting for $APP_RESTART_DONE).
"use strict";

const { say, sleep, check, until } = require("./harness");

const fs = require("fs");
const { Queue, Worker, QueueEvents } = require("bullmq");
const IORedis = require("ioredis");

const [host, port] = process.argv[2].split(":");
const phase = process.argv[3] || "all";
const connection = { host, port: Number(port), maxRetriesPerRequest: null };
const JOBS = 1000;

// The processor of the main queue: "sum" jobs return a result, "flaky" jobs fail their first
// data.failures attempts (counted by BullMQ in the job, so across restarts), "doomed" jobs
// always fail.
async function processor(job) {
    const tries = job.attemptsMade + 1;
    if (job.name === "doomed") throw new Error("doomed to fail");
    if (job.name === "flaky" && tries <= job.data.failures) throw new Error(`attempt ${tries} fails`);
    return { sum: job.data.a + job.data.b, tries };
}

function workers(started) {
    return ["w1", "w2"].map((name) => {
        const worker = new Worker("jobs", processor, { connection, concurrency: 8, name });
        worker.on("completed", (job) => started.completed.add(job.id));
        worker.on("failed", (job) => job && job.finishedOn && started.failed.add(job.id));
        return worker;
    });
}

async function before(queue) {
    const jobs = [];
    for (let i = 0; i < JOBS; i++) {
        const opts = { jobId: `job-${i}`, removeOnComplete: false };
        if (i % 10 === 0) opts.priority = 1 + (i % 7);
        if (i % 25 === 0) opts.delay = 300;
        let name = "sum";
        if (i % 50 === 7) {
            name = "flaky";
            opts.attempts = 3;
            opts.backoff = { type: "exponential", delay: 50 };
        }
        jobs.push({ name, data: { a: i, b: 1, failures: 2 }, opts });
    }
    jobs.push({ name: "doomed", data: {}, opts: { jobId: "doomed", attempts: 2, backoff: { type: "fixed", delay: 50 } } });
    await queue.addBulk(jobs);
    say("counts after adding", await queue.getJobCounts("waiting", "prioritized", "delayed"));

    const seen = { completed: new Set(), failed: new Set() };
    const pool = workers(seen);
    await until("300 completions", () => seen.completed.size >= 300);
    await Promise.all(pool.map((w) => w.close()));
    say("completed before stopping", seen.completed.size >= 300);
}

async function after(queue) {
    const events = new QueueEvents("jobs", { connection });
    await events.waitUntilReady();
    const seen = { completed: new Set(), failed: new Set() };
    const pool = workers(seen);
    await until("every job finished", async () => {
        const counts = await queue.getJobCounts("completed", "failed");
        return counts.completed + counts.failed === JOBS + 1;
    });
    const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "completed", "failed");
    say("final counts", counts);
    const completed = await queue.getJobs(["completed"], 0, -1);
    const results = completed.map((job) => job.returnvalue.sum).sort((a, b) => a - b);
    check(results.length === JOBS, `every job completed (${results.length})`);
    say("results", results.every((sum, i) => sum === i + 1));
    const flaky = await queue.getJob("job-7");
    say("flaky", flaky.attemptsMade, flaky.returnvalue.sum, await flaky.getState());
    const doomed = await queue.getJob("doomed");
    say("doomed", await doomed.getState(), doomed.failedReason, doomed.attemptsMade);

    // A result through QueueEvents: the completed event travels over a stream (XREAD BLOCK).
    const job = await queue.add("sum", { a: 20, b: 22, failures: 0 }, { jobId: "awaited" });
    say("waitUntilFinished", await job.waitUntilFinished(events, 10000));
    await Promise.all(pool.map((w) => w.close()));
    await events.close();
}

// Priorities on their own queue, with one worker of concurrency 1: the order is the promise.
async function priorities() {
    const queue = new Queue("prio", { connection });
    await queue.pause();
    for (const [i, priority] of [5, 1, 3, 1, 2, 4, 2].entries()) {
        await queue.add("p", { i }, { priority, jobId: `p${i}` });
    }
    await queue.add("plain", { i: 99 }, { jobId: "plain" });
    const order = [];
    const worker = new Worker("prio", async (job) => order.push(job.id), { connection, concurrency: 1 });
    await sleep(300);
    say("paused queue processed", order.length, "isPaused", await queue.isPaused());
    await queue.resume();
    await until("priority jobs", () => order.length === 8);
    say("priority order", order);
    await worker.close();
    await queue.close();
}

async function repeatable() {
    const queue = new Queue("repeat", { connection });
    const events = new QueueEvents("repeat", { connection });
    await events.waitUntilReady();
    const completedEvents = [];
    events.on("completed", ({ returnvalue }) => completedEvents.push(returnvalue));
    let runs = 0;
    const worker = new Worker("repeat", async () => ++runs, { connection });
    await queue.add("tick", {}, { repeat: { every: 150, limit: 3 } });
    await until("three repetitions", () => runs === 3 && completedEvents.length === 3);
    await sleep(400);
    say("repeatable runs", runs, "events", completedEvents.map(String));
    say("repeatable schedulers left", (await queue.getRepeatableJobs()).length);
    await worker.close();
    await events.close();
    await queue.close();
}

// The restart comes while both workers are busy: they reconnect by themselves, and jobs whose
// completion was cut off are handed out again by the stalled-job check (run every second,
// locks of 3 s, here), so every job still completes.
async function live(queue) {
    const jobs = [];
    for (let i = 0; i < JOBS; i++) {
        const opts = { jobId: `job-${i}` };
        if (i % 10 === 0) opts.priority = 1 + (i % 7);
        jobs.push({ name: "sum", data: { a: i, b: 1 }, opts });
    }
    await queue.addBulk(jobs);
    let completed = 0;
    const pool = ["w1", "w2"].map((name) => {
        const worker = new Worker("jobs", processor, { connection, concurrency: 8, name, lockDuration: 3000, stalledInterval: 1000 });
        worker.on("completed", () => completed++);
        worker.on("error", () => {});
        return worker;
    });
    await until("300 completions", () => completed >= 300);
    fs.writeFileSync(process.env.APP_RESTART_REQUEST, "");
    await until("the restart", () => fs.existsSync(process.env.APP_RESTART_DONE), 90000);
    let counts;
    await until(() => `every job after the restart: ${JSON.stringify(counts)}`, async () => {
        counts = await queue.getJobCounts("completed", "failed").catch(() => ({}));
        return counts.completed === JOBS;
    }, 60000);
    say("final counts", await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "completed", "failed"));
    const sums = (await queue.getJobs(["completed"], 0, -1)).map((job) => job.returnvalue.sum).sort((a, b) => a - b);
    say("results after a restart mid-work", sums.length, sums.every((sum, i) => sum === i + 1));
    await Promise.all(pool.map((w) => w.close()));
}

async function main() {
    const queue = new Queue("jobs", { connection });
    if (phase !== "after") {
        const client = new IORedis(connection);
        await client.flushall();
        client.disconnect();
    }
    if (phase === "all") {
        await priorities();
        await repeatable();
    }
    if (phase === "live") {
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
