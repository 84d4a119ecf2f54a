//! The command shapes the applications of `scripts/apps.sh` send (seen with MONITOR while
//! Celery, RQ, BullMQ, Bull, Sidekiq, Django's cache and the Socket.IO adapter ran), replayed
//! as differential scripts: Reddish must answer each exactly as redis-server does, so these
//! libraries keep working without Node, Python or Ruby installed to run them.

mod common;

use common::differential;

/// Celery's broker (kombu): queue lengths in a transaction, the binding set, BRPOP over
/// priority queues, the unacknowledged-message index and its restore; the result backend's
/// SETEX + PUBLISH in one transaction to a subscriber.
#[test]
fn celery_broker_and_result_backend() {
    differential(
        r#"
        MULTI
        LLEN celery
        LLEN "celery\x06\x163"
        LLEN "celery\x06\x166"
        LLEN "celery\x06\x169"
        EXEC
        SADD _kombu.binding.celery "celery\x06\x16\x06\x16celery"
        SADD _kombu.binding.celery "celery\x06\x16\x06\x16celery"
        LPUSH celery "{\"body\": \"W1sxXV0=\", \"properties\": {\"delivery_tag\": \"t1\"}}"
        LPUSH "celery\x06\x163" "{\"body\": \"W1syXV0=\", \"properties\": {\"delivery_tag\": \"t2\"}}"
        BRPOP celery "celery\x06\x163" "celery\x06\x166" "celery\x06\x169" 1
        BRPOP celery "celery\x06\x163" "celery\x06\x166" "celery\x06\x169" 1
        BRPOP celery "celery\x06\x163" "celery\x06\x166" "celery\x06\x169" 0.05
        MULTI
        ZADD unacked_index 1796532306.4463534 t1
        HSET unacked t1 "[{\"body\": \"W1sxXV0=\"}, \"\", \"celery\"]"
        EXEC
        ZADD unacked_index 1796532306.4498942 t2
        HSET unacked t2 "[{\"body\": \"W1syXV0=\"}, \"\", \"celery\"]"
        ZREVRANGEBYSCORE unacked_index 1796532307 0 LIMIT 0 10 WITHSCORES
        ZREVRANGEBYSCORE unacked_index 1796532306.448 0 LIMIT 0 10 WITHSCORES
        SET unacked_mutex token NX EX 300
        SET unacked_mutex token NX EX 300
        WATCH unacked
        HGET unacked t1
        MULTI
        ZREM unacked_index t1
        HDEL unacked t1
        LPUSH celery "{\"body\": \"W1sxXV0=\"}"
        EXEC
        ZCOUNT unacked_index -inf +inf
        SELECT 1
        @conn 1
        SELECT 1
        SUBSCRIBE celery-task-meta-24a1dd21
        @conn 0
        GET celery-task-meta-24a1dd21
        MULTI
        SETEX celery-task-meta-24a1dd21 600 "{\"status\": \"SUCCESS\", \"result\": 1000}"
        PUBLISH celery-task-meta-24a1dd21 "{\"status\": \"SUCCESS\", \"result\": 1000}"
        EXEC
        @conn 1
        UNSUBSCRIBE celery-task-meta-24a1dd21
        UNSUBSCRIBE celery-task-meta-24a1dd21
        @conn 0
        TTL celery-task-meta-24a1dd21
        "#,
    );
}

/// RQ: job hashes, registries as sorted sets, results in a capped stream read newest first,
/// worker statistics, and the WATCH/MULTI pattern it enqueues with.
#[test]
fn rq_job_lifecycle() {
    differential(
        r#"
        WATCH rq:job:add-0
        MULTI
        HSET rq:job:add-0 status queued origin default created_at 2026-12-06T04:32:11.012Z
        EXPIRE rq:job:add-0 600
        SADD rq:queues rq:queue:default
        RPUSH rq:queue:default add-0
        EXEC
        LPOP rq:queue:default
        LPOP rq:queue:default
        ZADD rq:wip:default 1796532706 add-0
        HSET rq:worker:w1 state busy current_job add-0
        PERSIST rq:job:add-0
        PERSIST rq:job:add-0
        XADD rq:results:add-0 MAXLEN ~ 10 1796532706000-0 type 1 return_value gAWVBAAAAAAAAABN6AMu
        XADD rq:results:add-0 MAXLEN ~ 10 1796532706000-1 type 1 return_value gAWVBAAAAAAAAABN6QMu
        XREVRANGE rq:results:add-0 + - COUNT 1
        XREVRANGE rq:results:missing + - COUNT 1
        HINCRBYFLOAT rq:worker:w1 total_working_time 0.000181
        HINCRBYFLOAT rq:worker:w1 total_working_time 0.000183
        HINCRBY rq:worker:w1 successful_job_count 1
        ZREM rq:wip:default add-0
        ZADD rq:finished:default 1796533306 add-0
        ZRANGEBYSCORE rq:scheduled:default 0 1796532706 LIMIT 0 10
        ZADD rq:scheduled:default 1796532705 scheduled
        ZRANGEBYSCORE rq:scheduled:default 0 1796532706 LIMIT 0 10
        ZREMRANGEBYSCORE rq:finished:default 0 1796532000
        ZCARD rq:finished:default
        HGETALL rq:job:add-0
        "#,
    );
}

/// BullMQ and Bull outside their scripts: delayed sets with 4096-scaled timestamps, capped
/// event streams, priority pops, list moves, and blocking pops that find data at once.
#[test]
fn bullmq_and_bull_structures() {
    differential(
        r#"
        ZADD bull:jobs:delayed 7358600073809919 job-1 7358600073805824 job-2 7358600073818111 job-3
        ZREVRANGEBYSCORE bull:jobs:delayed 7358600073809919 7358600073805824 WITHSCORES LIMIT 0 1
        ZRANGEBYSCORE bull:jobs:delayed 0 7358600073809920 LIMIT 0 1000
        ZSCORE bull:jobs:delayed job-3
        XADD bull:jobs:events 1-1 event active jobId job-0 prev waiting
        XADD bull:jobs:events 1-2 event completed jobId job-0 returnvalue "{\"sum\":1}"
        XTRIM bull:jobs:events MAXLEN ~ 10000
        XLEN bull:jobs:events
        XREAD BLOCK 10 STREAMS bull:jobs:events 1-1
        XREAD BLOCK 10 STREAMS bull:jobs:events $
        ZADD bull:jobs:prioritized 2097153 p1 1048577 p2 3145729 p3
        ZPOPMIN bull:jobs:prioritized
        BZPOPMIN bull:jobs:prioritized 1
        BZPOPMIN bull:jobs:marker bull:jobs:prioritized 0.01
        LPUSH bull:jobs:wait a b c
        RPOPLPUSH bull:jobs:wait bull:jobs:active
        BRPOPLPUSH bull:jobs:wait bull:jobs:active 5
        LINSERT bull:jobs:wait BEFORE c x
        LINSERT bull:jobs:wait AFTER missing y
        LREM bull:jobs:active -1 b
        LRANGE bull:jobs:active 0 -1
        LRANGE bull:jobs:wait 0 -1
        HMSET bull:jobs:job-0 name sum data "{\"a\":0}" opts "{}" timestamp 1796532706000
        HMGET bull:jobs:job-0 name missing timestamp
        HINCRBY bull:jobs:job-0 atm 1
        RENAME bull:jobs:job-0 bull:jobs:job-0-renamed
        EXISTS bull:jobs:job-0 bull:jobs:job-0-renamed
        "#,
    );
}

/// Sidekiq: weighted queue polling with BRPOP, the schedule and retry sorted sets, process
/// bookkeeping with UNLINK, SSCAN and trimming by rank.
#[test]
fn sidekiq_structures() {
    differential(
        r#"
        SADD queues default low
        LPUSH queue:default "{\"class\":\"SumJob\",\"args\":[\"job-0\",0,1000],\"jid\":\"a1\"}"
        LPUSH queue:low "{\"class\":\"SumJob\",\"args\":[\"low-job\",1,2],\"jid\":\"b2\"}"
        BRPOP queue:default queue:default queue:low 2
        BRPOP queue:default queue:low queue:default 2
        BRPOP queue:default queue:low 0.05
        ZADD schedule 1796532631.79 "{\"class\":\"SumJob\",\"jid\":\"c3\"}"
        ZADD retry 1796532632.05 "{\"class\":\"FlakyJob\",\"jid\":\"d4\",\"retry_count\":0}"
        ZRANGEBYSCORE schedule -inf 1796532640.0 LIMIT 0 1
        ZRANGEBYSCORE retry -inf 1796532600.0 LIMIT 0 1
        ZREM schedule "{\"class\":\"SumJob\",\"jid\":\"c3\"}"
        ZADD dead 1796532650 j1 1796532651 j2 1796532652 j3
        ZREMRANGEBYSCORE dead -inf 1796532650.5
        ZREMRANGEBYRANK dead 0 -2
        ZRANGE dead 0 -1 WITHSCORES
        SADD processes vm:1 vm:2
        @scan SSCAN processes 0
        HMSET vm:1 info "{}" busy 0 beat 1796532650.1 quiet false
        EXPIRE vm:1 60
        UNLINK vm:1 vm:1:work missing
        SREM processes vm:1
        INCRBY stat:processed 5
        INCRBY stat:processed:2026-12-06 5
        SCARD processes
        "#,
    );
}

/// The Socket.IO adapter and redis-py's pub/sub: subscription counts other clients see,
/// patterns with '#' and '*', and messages in publication order.
#[test]
fn socketio_adapter_pubsub() {
    differential(
        r#"
        @conn 1
        PSUBSCRIBE "socket.io#/#*"
        SUBSCRIBE "socket.io-request#/#" "socket.io-response#/#"
        @conn 2
        SUBSCRIBE "socket.io-request#/#"
        @conn 0
        PUBSUB NUMSUB "socket.io-request#/#" "socket.io-response#/#" "socket.io#/#"
        PUBSUB NUMPAT
        PUBLISH "socket.io#/#" "broadcast-1"
        PUBLISH "socket.io#/#room-1#" "room-1"
        PUBLISH "socket.io-request#/#" "{\"type\":2}"
        @conn 1
        @receive
        @receive
        @receive
        PUNSUBSCRIBE "socket.io#/#*"
        UNSUBSCRIBE
        @conn 2
        @receive
        UNSUBSCRIBE "socket.io-request#/#"
        @conn 0
        PUBSUB NUMSUB "socket.io-request#/#"
        "#,
    );
}
