"use strict";

// What every Node workload of scripts/apps.sh shares: one output line per observation (the
// script compares them between redis-server and Reddish), and a failed check ends the run.

const say = (...parts) => console.log(parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" "));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function check(condition, what) {
    if (!condition) {
        say("BROKEN", what);
        process.exit(1);
    }
}

// Waits for `predicate` (polled every 20 ms) for at most `ms`; `what` names it in the failure.
async function until(what, predicate, ms = 20000) {
    const deadline = Date.now() + ms;
    while (!(await predicate())) {
        check(Date.now() < deadline, `timed out waiting for ${typeof what === "function" ? what() : what}`);
        await sleep(20);
    }
}

module.exports = { say, sleep, check, until };
