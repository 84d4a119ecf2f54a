"""RQ driven as its users drive it: enqueue, a worker, job results (kept in streams), retries,
scheduled jobs and failed jobs.

Usage: rq_jobs.py HOST:PORT [all|before|after]. Prints one observation per line; exits non-zero
when RQ broke one of its promises. Phase "before" enqueues every job and works some of them;
"after" (possibly after a server restart) works the rest and checks that none was lost.
"""

import sys
import time
from datetime import timedelta

import redis
from rq import Queue, Retry, SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry

HOST, PORT = sys.argv[1].rsplit(":", 1)
PHASE = sys.argv[2] if len(sys.argv) > 2 else "all"
JOBS = 60


def say(*parts):
    print(*parts, flush=True)


def check(condition, what):
    if not condition:
        say("BROKEN", what)
        sys.exit(1)


# The jobs. RQ refuses functions of __main__, so they are enqueued as rq_jobs.<name>: this
# file imported once more as a module (its directory is on sys.path).
def add(a, b):
    from rq import get_current_job

    get_current_job().connection.rpush("app:rq:order", f"{a}")
    return a + b


def flaky(key):
    from rq import get_current_job

    attempts = get_current_job().connection.incr(key)
    if attempts < 3:
        raise RuntimeError(f"attempt {attempts} fails")
    return f"succeeded on attempt {attempts}"


def broken():
    raise ValueError("this job always fails")


def work(connection, queues, max_jobs=None):
    worker = SimpleWorker(queues, connection=connection)
    worker.work(burst=True, with_scheduler=True, max_jobs=max_jobs, logging_level="WARNING")


def before(connection, queue, low):
    from rq_jobs import add, broken, flaky

    ids = []
    for i in range(JOBS):
        job = queue.enqueue(add, i, 1000, job_id=f"add-{i}", result_ttl=600)
        ids.append(job.id)
    low.enqueue(add, -1, 0, job_id="low-priority")
    queue.enqueue(flaky, "app:rq:flaky", job_id="flaky", retry=Retry(max=3))
    queue.enqueue(broken, job_id="broken")
    queue.enqueue_in(timedelta(seconds=1), add, 7, 7, job_id="scheduled")
    say("queued", queue.count, "low", low.count)
    say("scheduled registry", ScheduledJobRegistry(queue=queue).get_job_ids())
    work(connection, [queue, low], max_jobs=20)
    # The scheduled job may or may not be due yet: it is left out.
    queued = [job_id for job_id in queue.job_ids if job_id != "scheduled"]
    say("after 20 jobs, queued", len(queued), "finished", FinishedJobRegistry(queue=queue).count)


def after(connection, queue, low):
    time.sleep(1.2)  # until the scheduled job is due
    work(connection, [queue, low])
    order = [item.decode() for item in connection.lrange("app:rq:order", 0, -1)]
    say("execution order", order[:JOBS] == [str(i) for i in range(JOBS)], order[JOBS:])
    results = [Job.fetch(f"add-{i}", connection=connection).return_value() for i in range(JOBS)]
    say("results", results == [i + 1000 for i in range(JOBS)])
    latest = Job.fetch("add-3", connection=connection).latest_result()
    say("latest_result", latest.type.name, latest.return_value)
    flaky_job = Job.fetch("flaky", connection=connection)
    say("flaky", flaky_job.get_status(), flaky_job.return_value(), connection.get("app:rq:flaky"))
    say("flaky results kept", [r.type.name for r in flaky_job.results()])
    broken_job = Job.fetch("broken", connection=connection)
    say("broken", broken_job.get_status(), broken_job.latest_result().type.name)
    check("ValueError: this job always fails" in broken_job.latest_result().exc_string, "traceback")
    failed = FailedJobRegistry(queue=queue)
    say("failed registry", failed.get_job_ids())
    failed.requeue("broken")
    say("requeued broken", Job.fetch("broken", connection=connection).get_status())
    scheduled = Job.fetch("scheduled", connection=connection)
    say("scheduled", scheduled.get_status(), scheduled.return_value())
    say("queues empty", queue.count, low.count, "finished", FinishedJobRegistry(queue=queue).count)
    check(Job.fetch("low-priority", connection=connection).get_status() == JobStatus.FINISHED,
          "the low queue is worked after the default one")


def main():
    connection = redis.Redis(host=HOST, port=int(PORT), decode_responses=False)
    if PHASE in ("all", "before"):
        connection.flushall()
    queue = Queue("default", connection=connection)
    low = Queue("low", connection=connection)
    if PHASE in ("all", "before"):
        before(connection, queue, low)
    if PHASE in ("all", "after"):
        after(connection, queue, low)


if __name__ == "__main__":
    main()
