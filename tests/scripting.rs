//! Lua scripting against a real redis-server 7.0: EVAL and its family, SCRIPT, the conversion
//! rules both ways, error texts, the sandbox, the libraries (cjson, cmsgpack, bit, struct),
//! and the scripts real applications send (locks, rate limiters, job queues).
//!
//! To check a test itself, run it with real Redis on both sides:
//! `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test scripting`.

mod common;

use common::{Compare, Differential, Server};

/// Sends each command to both servers and compares the replies exactly.
#[track_caller]
fn same(d: &mut Differential, commands: &[&[&str]]) {
    for args in commands {
        d.check(Compare::Exact, args);
    }
}

/// `EVAL script 0` for each script, compared exactly.
#[track_caller]
fn evals(d: &mut Differential, scripts: &[&str]) {
    for script in scripts {
        d.check(Compare::Exact, &["EVAL", script, "0"]);
    }
}

#[test]
fn lua_values_become_redis_replies() {
    let mut d = Differential::new();
    evals(
        &mut d,
        &[
            "return 'hello'",
            "return 100.5",
            "return -3.99",
            "return 42",
            "return true",
            "return false",
            "return nil",
            "return {1,2,3,'ciao',{1,2}}",
            "return {1,2,nil,4}",
            "return {}",
            "return {err='My Error'}",
            "return {err=1}",
            "return {ok='FINE'}",
            "return {ok=1}",
            "return redis.status_reply('OK then')",
            "return redis.error_reply('bad')",
            "return redis.error_reply('MYCODE some text')",
            "return redis.error_reply('-X y')",
            "return {double=3.14}",
            "return {1, {err='inner'}, {ok='fine'}, 'x'}",
            "return _G",
            "local a = {}; setmetatable(a,{__index=function() foo() end}) return a",
            "return {1e20, -1e20, 0/0}",
            "local a = {}; local b = {a}; a[1] = b; return 'no return of a'",
        ],
    );
}

#[test]
fn redis_replies_become_lua_values() {
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["RPUSH", "list", "a", "b", "c"],
            &["HSET", "hash", "f", "v"],
            &[
                "EVAL",
                "return redis.call('lrange', KEYS[1], 0, -1)",
                "1",
                "list",
            ],
            &["EVAL", "return redis.call('get', 'missing') == false", "0"],
            &["EVAL", "return type(redis.call('get', 'missing'))", "0"],
            &["EVAL", "return redis.call('set', 'k', 'v')", "0"],
            &["EVAL", "return redis.call('set', 'k', 'v')['ok']", "0"],
            &["EVAL", "return redis.call('incr', 'n') + 10", "0"],
            &["EVAL", "return redis.pcall('incr', 'k')", "0"],
            &["EVAL", "return redis.pcall('incr', 'k')['err']", "0"],
            &[
                "EVAL",
                "return type(redis.call('blmpop', 0, 1, 'nolist', 'LEFT'))",
                "0",
            ],
            &["EVAL", "return redis.call('hgetall', 'hash')", "0"],
            &[
                "EVAL",
                "return {redis.call('exists', 'k', 'list', 'nope')}",
                "0",
            ],
            &["EVAL", "return #KEYS + #ARGV", "2", "a", "b", "c"],
            &[
                "EVAL",
                "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}",
                "2",
                "k1",
                "k2",
                "a1",
                "a2",
            ],
            &["EVAL", "return redis.call('set', 'num', 3.0)", "0"],
            &["GET", "num"],
            &["EVAL", "return redis.call('set', 'num', 0.5)", "0"],
            &["GET", "num"],
            &["EVAL", "return redis.call('set', 'num', 1e17)", "0"],
            &["GET", "num"],
            &["EVAL", "return redis.call('set', 'num', -2^53)", "0"],
            &["GET", "num"],
            // Thousands of arguments, as far as Lua's stack lets `unpack` go.
            &[
                "EVAL",
                "local a = {} for i = 1, 7990 do a[i] = i end \
                 return redis.call('rpush', 'many', unpack(a))",
                "0",
            ],
            &["LRANGE", "many", "7985", "-1"],
            &[
                "EVAL",
                "local a = {} for i = 1, 7990 do a[i] = 'x' end \
                 return #redis.call('hmget', 'hash', unpack(a))",
                "0",
            ],
            // Nested replies, and errors of the call itself.
            &["XADD", "stream", "1-1", "f", "v", "g", "w"],
            &[
                "EVAL",
                "return redis.call('xrange', 'stream', '-', '+')",
                "0",
            ],
            &[
                "EVAL",
                "return redis.call('xrange', 'stream', '-', '+')[1][2][3]",
                "0",
            ],
            &["EVAL", "return redis.pcall('nosuchcommand')['err']", "0"],
            &["EVAL", "return redis.pcall()['err']", "0"],
            &["EVAL", "return redis.pcall('get', {})['err']", "0"],
            &["EVAL", "return redis.pcall('get', 'a', 'b')['err']", "0"],
            &["EVAL", "return redis.call('get', {})", "0"],
            &["EVAL", "return redis.call('nosuchcommand')", "0"],
            &[
                "EVAL",
                "local ok, e = pcall(redis.call, 'incr', 'k') return {tostring(ok), e['err']}",
                "0",
            ],
        ],
    );
}

#[test]
fn resp3_in_scripts() {
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["HSET", "hash", "f", "v"],
            &["SADD", "set", "m"],
            &[
                "EVAL",
                "redis.setresp(3); return redis.call('hgetall', 'hash')",
                "0",
            ],
            &[
                "EVAL",
                "redis.setresp(3); return redis.call('smembers', 'set')",
                "0",
            ],
            &[
                "EVAL",
                "redis.setresp(3); return redis.call('get', 'nope') == nil",
                "0",
            ],
            &["EVAL", "redis.setresp(3); return true", "0"],
            &["EVAL", "redis.setresp(3); return false", "0"],
            &["EVAL", "redis.setresp(3); return {double=1.5}", "0"],
            &["EVAL", "redis.setresp(3); return {map={a=1}}", "0"],
            &["EVAL", "redis.setresp(3); return {set={a=true}}", "0"],
            &[
                "EVAL",
                "redis.setresp(3); return {big_number='123456789012345678901234567890'}",
                "0",
            ],
            &[
                "EVAL",
                "redis.setresp(3); return redis.call('hgetall', 'hash')['map']['f']",
                "0",
            ],
            &[
                "EVAL",
                "redis.setresp(3); return redis.call('smembers', 'set')['set']['m']",
                "0",
            ],
            &["EVAL", "return redis.setresp(4)", "0"],
        ],
    );
    d.check(Compare::Ignore, &["HELLO", "3"]);
    same(
        &mut d,
        &[
            &[
                "EVAL",
                "redis.setresp(3); return redis.call('hgetall', 'hash')",
                "0",
            ],
            &["EVAL", "redis.setresp(3); return true", "0"],
            &["EVAL", "redis.setresp(3); return {double=1.5}", "0"],
            &["EVAL", "redis.setresp(3); return {map={a=1}}", "0"],
            &["EVAL", "redis.setresp(3); return {set={a=true}}", "0"],
            &["EVAL", "redis.setresp(3); return {big_number='123'}", "0"],
            &["EVAL", "return redis.call('hgetall', 'hash')", "0"],
            &["EVAL", "return false", "0"],
            &["EVAL", "return nil", "0"],
        ],
    );
}

#[test]
fn script_errors_have_redis_texts() {
    let mut d = Differential::new();
    evals(
        &mut d,
        &[
            "return a",
            "a = 1",
            "error('x')",
            "error({err='My Error'})",
            "return redis.call('nosuch')",
            "return redis.pcall('nosuch')",
            "return redis.call('set','x','y','z')",
            "return redis.call()",
            "return redis.call(1)",
            "return redis.call('get',{})",
            "return redis.call('get')",
            "syntax error here",
            "return redis.call('blpop','x',0)",
            "return redis.call('eval','return 1',0)",
            "return redis.call('multi')",
            "redis.log(redis.LOG_WARNING)",
            "redis.log('x', 'y')",
            "redis.log(redis.LOG_WARNING, 'from a test')",
            "local t = {pcall(redis.call, 'nosuch')}; return t[2]",
            "local ok, e = pcall(error, {err='E1'}); return e.err",
            "return redis.set_repl(99)",
            "return redis.sha1hex()",
            "return redis.acl_check_cmd('nosuch')",
            "return redis.acl_check_cmd('get', 'k')",
            "\nreturn redis.call('nosuch')",
            "local function f() error('deep') end\nlocal function g() f() end\ng()",
        ],
    );
    same(
        &mut d,
        &[
            &["EVAL", "return 1", "-1"],
            &["EVAL", "return 1", "3", "a"],
            &["EVAL", "return 1", "x"],
            &["EVAL", "return 1"],
            &["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
            &["EVALSHA", "short", "0"],
            &["EVAL_RO", "return redis.call('set','x',1)", "0"],
            &["EVAL_RO", "return redis.call('get','x')", "0"],
            &[
                "EVAL",
                "#!lua flags=no-writes\nreturn redis.call('set','x',1)",
                "0",
            ],
            &["EVAL", "#!lua\nreturn redis.call('set','x',1)", "0"],
            &["EVAL", "#!lua flags=no-writes,allow-oom\nreturn 1", "0"],
            &[
                "EVAL",
                "#!lua flags=no-cluster,allow-cross-slot-keys,allow-stale\nreturn 2",
                "0",
            ],
            &["EVAL", "#!lua flags=\nreturn 3", "0"],
            &["EVAL", "#!foo\nreturn 1", "0"],
            &["EVAL", "#!lua flags=bad\nreturn 1", "0"],
            &["EVAL", "#!lua name=x\nreturn 1", "0"],
            &["EVAL", "#!lua", "0"],
            &["GET", "x"],
        ],
    );
}

#[test]
fn evalsha_and_the_script_cache() {
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["SCRIPT", "LOAD", "return 'loaded'"],
            &["EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
            &[
                "SCRIPT",
                "EXISTS",
                "b534286061d4b9e4026607613b95c06c06015ae8",
                "nope",
            ],
            &["SCRIPT", "LOAD", "syntax error"],
            &["SCRIPT", "LOAD", "return redis.call('get', KEYS[1])"],
            &["SET", "k", "v"],
            &[
                "EVALSHA",
                "4e6d8fc8bb01276962cce5371fa795a7763657ae",
                "1",
                "k",
            ],
            &[
                "EVALSHA",
                "4E6D8FC8BB01276962CCE5371FA795A7763657AE",
                "1",
                "k",
            ],
            &[
                "EVALSHA_RO",
                "4e6d8fc8bb01276962cce5371fa795a7763657ae",
                "1",
                "k",
            ],
            &["EVAL", "return 'cached by eval'", "0"],
            &[
                "SCRIPT",
                "EXISTS",
                "4e6d8fc8bb01276962cce5371fa795a7763657ae",
                "14a0ec5969ac10dc856a79479466fd953463f052",
            ],
            &["SCRIPT", "FLUSH"],
            &[
                "SCRIPT",
                "EXISTS",
                "4e6d8fc8bb01276962cce5371fa795a7763657ae",
                "14a0ec5969ac10dc856a79479466fd953463f052",
            ],
            &[
                "EVALSHA",
                "4e6d8fc8bb01276962cce5371fa795a7763657ae",
                "1",
                "k",
            ],
            &["SCRIPT", "FLUSH", "ASYNC"],
            &["SCRIPT", "FLUSH", "SYNC"],
            &["SCRIPT", "FLUSH", "bad"],
            &["SCRIPT", "KILL"],
            &["SCRIPT", "HELP"],
            &["SCRIPT", "NOSUCH"],
            &["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"],
            &["COMMAND", "GETKEYS", "EVALSHA_RO", "sha", "1", "a", "b"],
            &[
                "COMMAND",
                "INFO",
                "eval",
                "evalsha",
                "eval_ro",
                "evalsha_ro",
            ],
        ],
    );
}

/// More scripts and library functions than Lua 5.1 has stack slots (8,000): each stays
/// callable (they once failed to compile past about 7,990, "out of Lua stack").
#[test]
fn thousands_of_scripts_and_functions_stay_callable() {
    const COUNT: usize = 9000;
    let server = Server::start();
    let mut conn = server.raw();
    let mut batch = Vec::new();
    for i in 0..COUNT {
        batch.extend(common::encode_command(&[
            "SCRIPT",
            "LOAD",
            &format!("return {i}"),
        ]));
    }
    conn.send(&batch);
    let shas: Vec<String> = (0..COUNT)
        .map(|i| {
            let reply = String::from_utf8(conn.read_reply()).unwrap();
            assert!(reply.starts_with("$40\r\n"), "script {i}: {reply}");
            reply[5..45].to_string()
        })
        .collect();
    for (i, sha) in shas.iter().enumerate().step_by(997) {
        assert_eq!(
            conn.cmd(&["EVALSHA", sha, "0"]),
            format!(":{i}\r\n").into_bytes()
        );
    }
    let mut code = String::from("#!lua name=many\n");
    for i in 0..COUNT {
        code.push_str(&format!(
            "redis.register_function('f{i}', function() return {i} end)\n"
        ));
    }
    assert_eq!(conn.cmd(&["FUNCTION", "LOAD", &code]), b"$4\r\nmany\r\n");
    for i in [0, COUNT / 2, COUNT - 1] {
        assert_eq!(
            conn.cmd(&["FCALL", &format!("f{i}"), "0"]),
            format!(":{i}\r\n").into_bytes()
        );
    }
}

#[test]
fn the_sandbox_is_redis_sandbox() {
    let mut d = Differential::new();
    evals(
        &mut d,
        &[
            "setmetatable(_G, {})",
            "local g = getmetatable(_G); g.__index = {}",
            "redis = function() return 1 end",
            "_G = {}",
            "redis.call = function() return 1 end",
            "cjson.encode = function() return 1 end",
            "cmsgpack.pack = function() return 1 end",
            "bit.lshift = function() return 1 end",
            "string.foo = 1",
            "getmetatable('').__index = function() return 1 end",
            "getmetatable(nil).__index = function() return 1 end",
            "return loadfile",
            "return dofile",
            "print('x')",
            "return os",
            "return io",
            "return debug",
            "return setfenv",
            "return loadstring(string.dump(function() return 1 end))()",
            "return loadstring('return 7')()",
            "local t = {} for k in pairs(_G) do t[#t+1] = k end table.sort(t) return t",
            "local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) return t",
            "return _VERSION",
            "return redis.REDIS_VERSION_NUM > 0",
            "return type(redis.REDIS_VERSION)",
            "return redis.sha1hex('Pizza & Mandolino')",
            "return redis.replicate_commands()",
            "return redis.breakpoint()",
            "math.randomseed(1); return {tostring(math.random()), math.random(10), math.random(5, 100)}",
            "return string.format('%5.2f', 3.14159)",
            "return table.concat({'a','b'}, '-')",
            "return #string.rep('x', 10)",
            "local t = {3,1,2}; table.sort(t); return t",
            "return tostring(tonumber('0x10'))",
            "return coroutine.status(coroutine.create(function() end))",
        ],
    );
}

#[test]
fn libraries_behave_as_redis_ones() {
    let mut d = Differential::new();
    evals(
        &mut d,
        &[
            "return cjson.encode({1.5, 1e20, 0.1, 1/3, 'a/b\"\\\\', '\\1\\127\\200', true, cjson.null, 100, -0.0, 2^53})",
            "return cjson.encode({})",
            "return cjson.encode({a=1,b={c=2}})",
            "return cjson.encode({[1]=1,[20]=2})",
            "return cjson.encode({[1]=1,[3]=3})",
            "return cjson.encode({[false]=1})",
            "return cjson.encode(function() end)",
            "return cjson.encode(0/0)",
            "return {pcall(cjson.encode, 0/0)}",
            "return cjson.decode('x')",
            "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')",
            "local d = cjson.decode('{\"keya\": \"a\", \"keyb\": \"b\"}') return {d.keya, d.keyb}",
            "local t = cjson.decode('{\"a\":[1,2,{\"b\":null}],\"c\":\"\\\\u00e9\\\\n\"}'); return {t.a[1], t.a[3].b == cjson.null, t.c, type(cjson.null)}",
            "return cjson.encode(cjson.decode('{\"x\":[true,false,null,\"s\"]}'))",
            "cjson.encode_max_depth(1) local ok = pcall(cjson.encode, {{1}}) cjson.encode_max_depth(1000) return ok",
            "cjson.decode_max_depth(1) local ok = pcall(cjson.decode, '[[1]]') cjson.decode_max_depth(1000) return ok",
            "local t = {} for k in pairs(cjson) do t[#t+1] = k end table.sort(t) return t",
            "local e = cmsgpack.pack({}, {1,2}, {a=1}, 'x', 300, -5, 1.5, true, nil, 0.1, -1099511627776, 2^40) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h",
            "local e = cmsgpack.pack(string.rep('x', 40), string.rep('y', 300)) return #e",
            "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}))}",
            "return {cmsgpack.unpack_one(cmsgpack.pack(1, 'a'), 0)}",
            "local p = cmsgpack.pack('a', 'b', 'c') local o, v = cmsgpack.unpack_limit(p, 2, 0) return {o, v}",
            "local t = cmsgpack.unpack(cmsgpack.pack({k={1,2,{z='deep'}}})) return t.k[3].z",
            "local a = {y=5} local b = {x=a} a.x = b local e = cmsgpack.pack(a) return #e",
            "return {bit.tohex(255), bit.tohex(-1, -4), bit.band(0xff, 0x0f), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1,33), bit.bswap(1), bit.bnot(0), bit.tobit(2^32+5), bit.tohex(65535, -2147483648)}",
            "return {bit.bor(1,2,4,8,16,32,64,128), bit.bxor(1,2), bit.band(1), bit.tobit(1)}",
            "return {struct.pack('>I2', 258), struct.pack('<i4', -2), struct.pack('b', 65), struct.pack('c3', 'xyz'), struct.size('>I2i4')}",
            "return {struct.unpack('>I2', 'AB')}",
            "return {struct.unpack('BB', 'AB')}",
            "return {struct.unpack('<i2 >i2', '\\255\\255\\1\\0')}",
            "return {struct.unpack('i4', 'AB')}",
            "return {struct.unpack('d', struct.pack('d', 1.25))}",
            "return {struct.unpack('s', 'abc\\0def')}",
        ],
    );
}

#[test]
fn script_writes_reach_watch_and_keyspace_notifications() {
    let mut d = Differential::new();
    d.run(
        r#"
        SET k 1
        WATCH k
        @conn 1
        EVAL "return redis.call('incr', KEYS[1])" 1 k
        @conn 0
        MULTI
        GET k
        EXEC
        CONFIG SET notify-keyspace-events KEA
        @conn 2
        PSUBSCRIBE __key*@0__:*
        @conn 0
        EVAL "redis.call('set', 'a', 1); redis.call('lpush', 'l', 'x'); return redis.call('del', 'a')" 0
        @conn 2
        PING
        "#,
    );
}

#[test]
fn select_in_a_script_stays_in_the_script() {
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["SET", "k", "db0"],
            &["EVAL", "redis.call('select', 9); redis.call('set', 'k', 'db9'); return redis.call('get', 'k')", "0"],
            &["GET", "k"],
            &["SELECT", "9"],
            &["GET", "k"],
        ],
    );
}

#[test]
fn scripts_inside_multi_run_at_exec() {
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["MULTI"],
            &["EVAL", "return redis.call('incr', 'c')", "0"],
            &["EVAL", "return redis.call('incr', 'c')", "0"],
            &["EXEC"],
            &["GET", "c"],
        ],
    );
}

#[test]
fn lock_release_and_extend_like_redis_py() {
    // redis-py's Lock scripts, sent as redis-py sends them.
    const RELEASE: &str = "local token = redis.call('get', KEYS[1])\n\
        if not token or token ~= ARGV[1] then\n    return 0\nend\n\
        redis.call('del', KEYS[1])\nreturn 1\n";
    const EXTEND: &str = "local token = redis.call('get', KEYS[1])\n\
        if not token or token ~= ARGV[1] then\n    return 0\nend\n\
        local expiration = redis.call('pttl', KEYS[1])\n\
        if not expiration then\n    expiration = 0\nend\n\
        if expiration < 0 then\n    return 0\nend\n\n\
        local newttl = ARGV[2]\nif ARGV[3] == \"0\" then\n    newttl = ARGV[2] + expiration\nend\n\
        redis.call('pexpire', KEYS[1], newttl)\nreturn 1\n";
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["SET", "lock:job", "token-1", "NX", "PX", "10000"],
            &["SET", "lock:job", "token-2", "NX", "PX", "10000"],
            &["SCRIPT", "LOAD", RELEASE],
            &["SCRIPT", "LOAD", EXTEND],
            &["EVAL", EXTEND, "1", "lock:job", "token-2", "60000", "1"],
            &["EVAL", EXTEND, "1", "lock:job", "token-1", "60000", "1"],
            &["EVAL", RELEASE, "1", "lock:job", "token-2"],
            &["EXISTS", "lock:job"],
            &["EVAL", RELEASE, "1", "lock:job", "token-1"],
            &["EXISTS", "lock:job"],
            &["EVAL", RELEASE, "1", "lock:job", "token-1"],
        ],
    );
    d.check(Compare::TypeOnly, &["PTTL", "lock:job"]);
}

#[test]
fn rate_limiter_with_incr_and_pexpire() {
    const LIMIT: &str = "local current = redis.call('incr', KEYS[1])\n\
        if current == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end\n\
        local ttl = redis.call('pttl', KEYS[1])\n\
        if current > tonumber(ARGV[2]) then return {0, current} end\n\
        return {1, current, ttl > 0}";
    let mut d = Differential::new();
    for _ in 0..4 {
        d.check(Compare::Exact, &["EVAL", LIMIT, "1", "rl:ip", "60000", "3"]);
    }
    d.check(Compare::Exact, &["GET", "rl:ip"]);
}

#[test]
fn sidekiq_style_scheduled_job_pop() {
    const POP: &str = "local key, now = KEYS[1], ARGV[1]\n\
        local jobs = redis.call('zrange', key, '-inf', now, 'byscore', 'limit', 0, 1)\n\
        if jobs[1] then\n  redis.call('zrem', key, jobs[1])\n  return jobs[1]\nend";
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &[
                "ZADD", "schedule", "100", "job-a", "200", "job-b", "300", "job-c",
            ],
            &["EVAL", POP, "1", "schedule", "250"],
            &["EVAL", POP, "1", "schedule", "250"],
            &["EVAL", POP, "1", "schedule", "250"],
            &["ZRANGE", "schedule", "0", "-1", "WITHSCORES"],
        ],
    );
}

#[test]
fn laravel_style_queue_pop() {
    const POP: &str = "local job = redis.call('lpop', KEYS[1])\nlocal reserved = false\n\
        if(job ~= false) then\n    reserved = cjson.decode(job)\n    reserved['attempts'] = reserved['attempts'] + 1\n\
            reserved = cjson.encode(reserved)\n    redis.call('zadd', KEYS[2], ARGV[1], reserved)\n\
            redis.call('lpop', KEYS[3])\nend\nreturn {job, reserved}";
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &[
                "RPUSH",
                "queues:default",
                r#"{"uuid":"u1","job":"SendMail","attempts":0}"#,
            ],
            &["RPUSH", "queues:default:notify", "1"],
            &[
                "EVAL",
                POP,
                "3",
                "queues:default",
                "queues:default:reserved",
                "queues:default:notify",
                "1700000000",
            ],
            &["ZRANGE", "queues:default:reserved", "0", "-1", "WITHSCORES"],
            &[
                "EVAL",
                POP,
                "3",
                "queues:default",
                "queues:default:reserved",
                "queues:default:notify",
                "1700000000",
            ],
        ],
    );
}

#[test]
fn bullmq_style_job_add_with_msgpack_options() {
    const ADD: &str = "local opts = cmsgpack.unpack(ARGV[2])\n\
        local id = redis.call('incr', KEYS[1] .. ':id')\n\
        local jobKey = KEYS[1] .. ':' .. id\n\
        redis.call('hmset', jobKey, 'name', ARGV[1], 'delay', opts['delay'] or 0, 'attempts', opts['attempts'] or 1)\n\
        if (opts['delay'] or 0) > 0 then\n  redis.call('zadd', KEYS[1] .. ':delayed', opts['delay'], id)\n\
        else\n  redis.call('rpush', KEYS[1] .. ':wait', id)\nend\nreturn id";
    let mut d = Differential::new();
    // {delay = 5000, attempts = 3} and {attempts = 2}, packed as msgpack maps.
    let delayed = b"\x82\xa5delay\xcd\x13\x88\xa8attempts\x03".to_vec();
    let now = b"\x81\xa8attempts\x02".to_vec();
    let add = |d: &mut Differential, opts: &[u8]| {
        let args: Vec<&[u8]> = vec![b"EVAL", ADD.as_bytes(), b"1", b"bull:q", b"send", opts];
        d.check(Compare::Exact, &args);
    };
    add(&mut d, &delayed);
    add(&mut d, &now);
    same(
        &mut d,
        &[
            &["HGETALL", "bull:q:1"],
            &["HGETALL", "bull:q:2"],
            &["ZRANGE", "bull:q:delayed", "0", "-1", "WITHSCORES"],
            &["LRANGE", "bull:q:wait", "0", "-1"],
        ],
    );
}

#[test]
fn native_types_are_callable_from_scripts() {
    let server = Server::start();
    let mut conn = server.raw();
    assert_eq!(
        conn.cmd(&[
            "EVAL",
            "return redis.call('TREE.SET', KEYS[1], 'a', '1', 'b', '2')",
            "1",
            "t"
        ]),
        b":2\r\n"
    );
    assert_eq!(
        conn.cmd(&[
            "EVAL",
            "return redis.call('TREE.CEIL', KEYS[1], 'aa')",
            "1",
            "t"
        ]),
        b"*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
}

#[test]
fn a_failing_script_leaves_the_server_healthy() {
    let server = Server::start();
    let mut conn = server.raw();
    // Writes before the error stay, as in Redis (scripts are not rolled back).
    let reply = conn.cmd(&[
        "EVAL",
        "redis.call('set', 'before', '1'); error('halfway')",
        "0",
    ]);
    assert!(
        reply.starts_with(b"-ERR user_script:1: halfway script: "),
        "{reply:?}"
    );
    assert_eq!(conn.cmd(&["GET", "before"]), b"$1\r\n1\r\n");
    let reply = conn.cmd(&[
        "EVAL",
        "local function f(n) return f(n + 1) + 1 end return f(1)",
        "0",
    ]);
    assert!(
        reply.starts_with(b"-ERR user_script:1: stack overflow"),
        "{reply:?}"
    );
    let reply = conn.cmd(&[
        "EVAL",
        "local t = {} for i = 1, 100000 do t[i] = i end return t",
        "0",
    ]);
    assert!(
        reply.starts_with(b"*100000\r\n:1\r\n"),
        "{:?}",
        &reply[..20]
    );
    let reply = conn.cmd(&[
        "EVAL",
        "local a = {}; local b = {a}; a[1] = b; return a",
        "0",
    ]);
    assert!(reply.starts_with(b"*1\r\n*1\r\n"), "{:?}", &reply[..10]);
    assert!(reply.ends_with(b"-ERR reached lua stack limit\r\n"));
    assert_eq!(conn.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn functions_load_list_call_and_delete() {
    // One function a library: Redis lists a library's functions in its hash table's order.
    const LIB: &str = "#!lua name=mylib\n\
        redis.register_function('f1', function(KEYS, ARGV) return redis.call('set', KEYS[1], ARGV[1]) end)";
    const LIB2: &str = "#!lua name=mylib2\n\
        redis.register_function{function_name='f2', callback=function(keys, args) return {keys[1], args[1]} end, flags={'no-writes'}, description='desc two'}";
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["FUNCTION", "LOAD", LIB],
            &["FUNCTION", "LOAD", LIB],
            &["FUNCTION", "LOAD", "REPLACE", LIB],
            &["FUNCTION", "LOAD", LIB2],
            &["FUNCTION", "LIST", "LIBRARYNAME", "mylib"],
            &["FUNCTION", "LIST", "LIBRARYNAME", "mylib2"],
            &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "MYLIB2"],
            &["FUNCTION", "LIST", "LIBRARYNAME", "other*"],
            &["FUNCTION", "STATS"],
            &["FCALL", "f1", "1", "k", "v"],
            &["GET", "k"],
            &["FCALL", "F2", "1", "k", "v"],
            &["FCALL_RO", "f2", "1", "k", "v"],
            &["FCALL_RO", "f1", "1", "k", "v"],
            &["FCALL", "f1", "x"],
            &["FCALL", "f1", "5", "k"],
            &["FCALL", "f1", "-1", "k"],
            &["FCALL", "nosuch", "0"],
            &["COMMAND", "GETKEYS", "FCALL", "f1", "2", "a", "b", "c"],
            &["FUNCTION", "DELETE", "MYLIB"],
            &["FUNCTION", "DELETE", "mylib"],
            &["FCALL", "f1", "0"],
            &["FUNCTION", "LOAD", LIB],
            &["FUNCTION", "FLUSH"],
            &["FUNCTION", "FLUSH", "bad"],
            &["FUNCTION", "LIST"],
            &["FUNCTION", "KILL"],
            &["FUNCTION", "HELP"],
        ],
    );
    d.check(Compare::Ignore, &["HELLO", "3"]);
    same(
        &mut d,
        &[
            &["FUNCTION", "LOAD", LIB2],
            &["FUNCTION", "LIST"],
            &["FUNCTION", "STATS"],
        ],
    );
}

#[test]
fn function_load_errors_have_redis_texts() {
    let mut d = Differential::new();
    let load = |d: &mut Differential, body: &str| {
        let code = format!("#!lua name=lib3\n{body}");
        d.check(Compare::Exact, &["FUNCTION", "LOAD", code.as_str()]);
        d.check(Compare::Exact, &["FCALL", "x", "0"]);
        d.check(Compare::Exact, &["FUNCTION", "DELETE", "lib3"]);
    };
    for body in [
        "redis.register_function('', function() end)",
        "redis.register_function{function_name='x', callback=function() end, foo=1}",
        "redis.register_function{function_name='x', callback=function() end, flags={'bad'}}",
        "redis.register_function{function_name='x', callback=1}",
        "redis.register_function{callback=function() end}",
        "redis.register_function{function_name='x'}",
        "redis.register_function{function_name='x', callback=function() return 'named' end, description=1}",
        "return 1",
        "redis.call('ping')",
        "local a = b",
        "math.random()",
        "redis.setresp(3)",
        "a = 1",
        "syntax error",
        "redis.register_function('x', function() redis.register_function('y', function() end) end)",
        "redis.log(redis.LOG_WARNING, 'x') redis.register_function('x', function() return cjson.encode({1}) .. bit.tohex(1) .. redis.sha1hex('') end)",
        "local lib = redis\nlib.register_function('x', function() lib.redis = redis return 1 end)",
        "local lib = redis\nlib.register_function('x', function() lib.register_function('y', function() end) end)",
        "redis.register_function('x', function() error('boom') end)",
        "redis.register_function('x', function() return redis.call('nosuch') end)",
        "redis.register_function('x', 'notfn')",
        "redis.register_function('x')",
        "redis.register_function('x', function() end, 3)",
    ] {
        load(&mut d, body);
    }
    same(
        &mut d,
        &[
            &["FUNCTION", "LOAD", "foo", "bar", "x"],
            &["FUNCTION", "LOAD", "#!lua name=bad-name\nreturn 1"],
            &["FUNCTION", "LOAD", "#!bad_engine name=x\nreturn 1"],
            &["FUNCTION", "LOAD", "#!lua\nreturn 1"],
            &["FUNCTION", "LOAD", "#!lua name=x foo=bar\nreturn 1"],
            &["FUNCTION", "LOAD", "no shebang"],
            // No line end after the metadata, or a NUL byte before it.
            &["FUNCTION", "LOAD", "#!lua name=lib"],
            &["FUNCTION", "LOAD", "#!lua"],
            &["FUNCTION", "LOAD", "#!lua name=z\0\nreturn 1"],
            &["FUNCTION", "FLUSH", "SYNC", "extra"],
            &["FUNCTION", "fLuSh", "SYNC", "x"],
            &["EVAL", "redis.setresp(nil)", "0"],
            &["EVAL", "redis.setresp('x')", "0"],
            &["EVAL", "redis.setresp('3') return 1", "0"],
            &["EVAL", "redis.setresp()", "0"],
            &["EVAL", "redis.set_repl(nil) return 1", "0"],
            // A function has no KEYS or ARGV globals, even after an EVAL set them; FUNCTION
            // LIST shows every flag given, in Redis's order.
            &["EVAL", "return ARGV[1]", "0", "from-eval"],
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=g\nredis.register_function{function_name='g', callback=function() return ARGV end, flags={'allow-cross-slot-keys','no-cluster','allow-stale','allow-oom','no-writes'}}",
            ],
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=k\nredis.register_function{function_name='k', callback=function() return KEYS end, flags={'no-cluster','allow-cross-slot-keys'}}",
            ],
            &["FCALL", "g", "0", "x"],
            &["FCALL", "k", "1", "x"],
            &["FUNCTION", "LIST", "LIBRARYNAME", "g"],
            &["FUNCTION", "LIST", "LIBRARYNAME", "k"],
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=a\nredis.register_function('same', function() end)",
            ],
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=b\nredis.register_function('same', function() end)",
            ],
        ],
    );
}

#[test]
fn scripts_with_flags_obey_maxmemory_as_redis() {
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["SET", "x", "123"],
            &["FUNCTION", "LOAD", "#!lua name=oom\nredis.register_function('w', function() return redis.call('set', 'x', 1) end)\nredis.register_function{function_name='r', callback=function() return redis.call('get', 'x') end, flags={'no-writes'}}"],
            &["CONFIG", "SET", "maxmemory", "1"],
            // Without a shebang: only the write inside is refused.
            &["EVAL", "return redis.call('get', 'x')", "0"],
            &["EVAL", "return redis.call('set', 'x', 1)", "0"],
            // With flags: refused before it runs, unless allow-oom or no-writes.
            &["EVAL", "#!lua flags=\nreturn 1", "0"],
            &["EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', 'x', 2)", "0"],
            &["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'x')", "0"],
            &["FCALL", "w", "0"],
            &["FCALL", "r", "0"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["FCALL", "w", "0"],
        ],
    );
}

/// The same rule under other names (`rename-command`): the flags come from the command that
/// runs, not from the name it was called by.
#[test]
fn renamed_script_commands_obey_maxmemory_by_their_flags() {
    let mut d = Differential::with_args(&["--rename-command", "FCALL", "fc"]);
    same(
        &mut d,
        &[
            &["SET", "x", "123"],
            &["FUNCTION", "LOAD", "#!lua name=oom\nredis.register_function('w', function() redis.call('del', 'y') return redis.call('set', 'x', 1) end)"],
            &["SET", "y", "1"],
            &["CONFIG", "SET", "maxmemory", "1"],
            &["fc", "w", "0"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["EXISTS", "y"],
        ],
    );
}

/// What clients see while a script runs past `busy-reply-threshold`, as a transcript that
/// must be the same on both servers: `-BUSY` for other commands (on open connections and on a
/// new one), the commands allowed then (MULTI, FUNCTION STATS for a function, SCRIPT KILL and
/// FUNCTION KILL with their refusals), the killed script's error, UNKILLABLE once a script
/// wrote, and SHUTDOWN NOSAVE ending the server.
fn busy_transcript(server: &mut Server) -> Vec<String> {
    use std::time::{Duration, Instant};
    let mut log = Vec::new();
    let mut admin = server.raw();
    let mut note = |what: &str, reply: &[u8]| {
        // Durations vary: only their presence is compared.
        let text = common::escape(reply);
        let text = match text.find("duration_ms") {
            Some(at) => {
                let rest = &text[at..];
                let end = rest.find(":").map_or(rest.len(), |colon| {
                    colon + rest[colon..].find("\\r\\n").unwrap_or(0)
                });
                format!("{}duration_ms<ms>{}", &text[..at], &rest[end..])
            }
            None => text,
        };
        log.push(format!("{what}: {text}"));
    };
    note(
        "threshold",
        &admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "50"]),
    );
    let wait_busy = |conn: &mut common::RawConn| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let reply = conn.cmd(&["PING"]);
            if reply.starts_with(b"-BUSY") || Instant::now() > deadline {
                return reply;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // A library whose loading loops is stopped (Redis allows it 500 ms).
    note(
        "load timeout",
        &admin.cmd(&["FUNCTION", "LOAD", "#!lua name=spin\nwhile true do end"]),
    );
    // An EVAL that loops: only SCRIPT KILL may stop it.
    let mut runner = server.raw();
    runner.send(&common::encode_command(&["EVAL", "while true do end", "0"]));
    let mut other = server.raw();
    note("eval busy", &wait_busy(&mut other));
    note("get", &other.cmd(&["GET", "x"]));
    note("function stats", &other.cmd(&["FUNCTION", "STATS"]));
    note("function kill", &other.cmd(&["FUNCTION", "KILL"]));
    note("shutdown", &other.cmd(&["SHUTDOWN"]));
    note("multi", &other.cmd(&["MULTI"]));
    note("queued set", &other.cmd(&["SET", "x", "1"]));
    note("exec", &other.cmd(&["EXEC"]));
    let mut newcomer = server.raw();
    note("new connection", &newcomer.cmd(&["PING"]));
    note("script kill", &admin.cmd(&["SCRIPT", "KILL"]));
    note("killed eval", &runner.read_reply());
    note("after", &other.cmd(&["PING"]));
    // A function: FUNCTION KILL stops it, SCRIPT KILL may not.
    let library = "#!lua name=lib\n\
        redis.register_function('spin', function() while true do end end)\n\
        redis.register_function('w', function(k) redis.call('set', k[1], 'v'); while true do end end)";
    note("load", &admin.cmd(&["FUNCTION", "LOAD", library]));
    runner.send(&common::encode_command(&["FCALL", "spin", "0"]));
    note("fcall busy", &wait_busy(&mut other));
    note("function stats", &other.cmd(&["FUNCTION", "STATS"]));
    note("script kill", &other.cmd(&["SCRIPT", "KILL"]));
    note("function kill", &admin.cmd(&["FUNCTION", "KILL"]));
    note("killed function", &runner.read_reply());
    // A script that wrote cannot be killed; SHUTDOWN NOSAVE ends the server anyway.
    runner.send(&common::encode_command(&["FCALL", "w", "1", "k"]));
    note("writer busy", &wait_busy(&mut other));
    note("function kill", &admin.cmd(&["FUNCTION", "KILL"]));
    admin.send(&common::encode_command(&["SHUTDOWN", "NOSAVE"]));
    let closed = |conn: &mut common::RawConn| match conn.read_reply_within(Duration::from_secs(10))
    {
        Ok(reply) => common::escape(&reply),
        Err(e) if e.starts_with("connection closed") => "closed".to_string(),
        Err(e) => e,
    };
    log.push(format!("shutdown nosave: {}", closed(&mut admin)));
    log.push(format!("writer: {}", closed(&mut runner)));
    log.push(format!(
        "server exited: {}",
        server.terminate().code().is_some()
    ));
    log
}

#[test]
fn busy_scripts_answer_busy_and_can_be_killed() {
    let redis = busy_transcript(&mut common::RedisServer::start());
    let reddish = busy_transcript(&mut Server::start());
    assert_eq!(reddish, redis);
}

/// redis-py's own `Lock` (from PyPI, unchanged) against Reddish: it acquires with
/// `SET NX PX` and releases, extends and reacquires with its Lua scripts (EVALSHA, falling
/// back to EVAL on NOSCRIPT). The Python side asserts each step and prints what it saw.
#[test]
fn redis_py_lock_runs_unchanged() {
    let Some(python) = common::test_python() else {
        return;
    };
    let server = Server::start();
    let script = r#"
import sys, time, redis
from redis.exceptions import LockError, LockNotOwnedError
r = redis.Redis(port=int(sys.argv[1]))
r.script_flush()
lock = r.lock("resource", timeout=5)
assert lock.acquire(blocking=False), "acquire"
assert lock.owned() and lock.locked(), "owned"
other = r.lock("resource", timeout=5)
assert not other.acquire(blocking=True, blocking_timeout=0.2), "held by the first"
assert lock.extend(10), "extend"
assert 5000 < r.pttl("resource") <= 15000, r.pttl("resource")
assert lock.reacquire(), "reacquire"
assert 4000 < r.pttl("resource") <= 5000, r.pttl("resource")
lock.release()
assert not r.exists("resource"), "released"
try:
    lock.release()
    raise SystemExit("released twice")
except LockError:
    pass
short = r.lock("resource", timeout=0.1)
assert short.acquire(), "short"
time.sleep(0.3)
try:
    short.extend(1)
    raise SystemExit("extended a lock it no longer owns")
except LockNotOwnedError:
    pass
with r.lock("resource", timeout=5, blocking_timeout=1):
    assert r.exists("resource")
assert not r.exists("resource")
print("scripts:", r.info("memory")["number_of_cached_scripts"])
"#;
    let output = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(server.port().to_string())
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Release, extend and reacquire: three scripts cached by redis-py's EVALSHA fallback.
    assert_eq!(stdout.trim(), "scripts: 3");
}

/// The bulk string of a reply from a raw connection.
fn bulk_of(reply: &[u8]) -> Vec<u8> {
    match common::reply::parse(reply).0 {
        common::reply::Reply::Bulk(bytes) => bytes,
        other => panic!("not a bulk reply: {other:?}"),
    }
}

#[test]
fn function_dump_and_restore_as_redis() {
    // Long enough to be LZF-compressed in the payload, as Redis compresses it.
    const LONG: &str = "#!lua name=mylib\n\
        redis.register_function('f1', function(keys, args) return redis.call('set', keys[1], args[1]) end)";
    const OTHER: &str =
        "#!lua name=other\nredis.register_function('f2', function() return 'two' end)";
    const CLASH: &str =
        "#!lua name=clash\nredis.register_function('f2', function() return 'clash' end)";
    // Payloads made by real Redis: one library, and the DUMP of a string key.
    let redis = common::RedisServer::start();
    let mut made = redis.raw();
    made.cmd(&["FUNCTION", "LOAD", OTHER]);
    let other_payload = bulk_of(&made.cmd(&["FUNCTION", "DUMP"]));
    made.cmd(&["SET", "k", "v"]);
    let key_payload = bulk_of(&made.cmd(&["DUMP", "k"]));
    let mut corrupt = other_payload.clone();
    corrupt[3] ^= 1;
    let restore = |payload: &[u8], options: &[&str]| -> Vec<Vec<u8>> {
        let mut args = vec![b"FUNCTION".to_vec(), b"RESTORE".to_vec(), payload.to_vec()];
        args.extend(options.iter().map(|o| o.as_bytes().to_vec()));
        args
    };
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["FUNCTION", "DUMP"],
            &["FUNCTION", "LOAD", LONG],
            &["FUNCTION", "DUMP"],
        ],
    );
    for args in [
        restore(&other_payload, &[]),
        restore(&other_payload, &[]),
        restore(&other_payload, &["append"]),
        restore(&other_payload, &["REPLACE"]),
        restore(&other_payload, &["bogus"]),
        restore(&other_payload, &["FLUSH", "extra"]),
        restore(b"bad_payload", &[]),
        restore(&corrupt, &[]),
        restore(&key_payload, &[]),
    ] {
        d.check(Compare::Exact, &args);
    }
    same(
        &mut d,
        &[
            &["FCALL", "f2", "0"],
            &["FCALL", "f1", "1", "k", "v"],
            &["FUNCTION", "LIST", "LIBRARYNAME", "other"],
            &["FUNCTION", "DELETE", "other"],
            &["FUNCTION", "LOAD", CLASH],
        ],
    );
    // A function name held by a library that stays refuses the whole payload.
    d.check(Compare::Exact, &restore(&other_payload, &["REPLACE"]));
    d.check(Compare::Exact, &restore(&other_payload, &[]));
    same(
        &mut d,
        &[&["FCALL", "f2", "0"], &["FCALL", "f1", "1", "k", "w"]],
    );
    // FLUSH drops every loaded library first.
    d.check(Compare::Exact, &restore(&other_payload, &["FLUSH"]));
    same(
        &mut d,
        &[
            &["FUNCTION", "LIST"],
            &["FCALL", "f2", "0"],
            &["FCALL", "f1", "1", "k", "v"],
            &["FUNCTION", "RESTORE"],
            &["FUNCTION", "DUMP", "x"],
        ],
    );
}

/// CLIENT PAUSE WRITE holds a script back unless its flags say `no-writes`, as Redis decides
/// from the script (EVAL's shebang, EVALSHA's cached script, FCALL's function), and inside
/// MULTI an EXEC with such a script queued.
#[test]
fn pause_write_holds_scripts_by_their_flags() {
    let server = Server::start();
    let mut admin = server.raw();
    let mut reader = server.raw();
    assert_eq!(
        admin.cmd(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=lib\nredis.register_function{function_name='ro', callback=function() return 'ro' end, flags={'no-writes'}}\nredis.register_function('rw', function() return 'rw' end)",
        ]),
        b"$3\r\nlib\r\n"
    );
    let sha = reader.cmd(&["SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 2"]);
    let sha = String::from_utf8_lossy(&sha[5..45]).into_owned();
    let mut queued = server.raw();
    assert_eq!(queued.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(
        queued.cmd(&["EVAL", "#!lua\nreturn 12", "0"]),
        b"+QUEUED\r\n"
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "60000", "WRITE"]),
        b"+OK\r\n"
    );
    // Scripts that declare no-writes, and the _RO commands, run during the pause.
    assert_eq!(
        reader.cmd(&["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]),
        b":1\r\n"
    );
    assert_eq!(reader.cmd(&["EVALSHA", &sha, "0"]), b":2\r\n");
    assert_eq!(reader.cmd(&["FCALL", "ro", "0"]), b"$2\r\nro\r\n");
    assert_eq!(reader.cmd(&["EVAL_RO", "return 3", "0"]), b":3\r\n");
    // The others wait for the pause to end.
    let held: [&[&str]; 3] = [
        &["EVAL", "return 1", "0"],
        &["EVAL", "#!lua\nreturn 1", "0"],
        &["FCALL", "rw", "0"],
    ];
    let mut waiting = Vec::new();
    for args in held {
        let mut conn = server.raw();
        conn.send(&common::encode_command(args));
        waiting.push(conn);
    }
    queued.send(&common::encode_command(&["EXEC"]));
    for conn in waiting.iter_mut().chain([&mut queued]) {
        assert!(conn
            .read_reply_within(std::time::Duration::from_millis(200))
            .is_err());
    }
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    let replies: Vec<Vec<u8>> = waiting.iter_mut().map(|c| c.read_reply()).collect();
    assert_eq!(
        replies,
        [
            b":1\r\n".to_vec(),
            b":1\r\n".to_vec(),
            b"$2\r\nrw\r\n".to_vec()
        ]
    );
    assert_eq!(queued.read_reply(), b"*1\r\n:12\r\n");
}

#[test]
fn read_only_scripts_may_not_publish() {
    let mut d = Differential::new();
    same(
        &mut d,
        &[
            &["EVAL_RO", "return redis.call('publish', 'ch', 'msg')", "0"],
            &[
                "EVAL",
                "#!lua flags=no-writes\nreturn redis.call('publish', 'ch', 'msg')",
                "0",
            ],
            &["EVAL", "return redis.call('publish', 'ch', 'msg')", "0"],
        ],
    );
}

/// The error statistics and the calls of the commands a script ran, after each of `scripts`,
/// on one server: `errorstat_*`, `total_error_replies` and the `rejected_calls`/`failed_calls`
/// of the commands named.
fn error_figures(server: &Server, scripts: &[&[&str]], commands: &[&str]) -> Vec<String> {
    let mut conn = server.raw();
    let mut figures = Vec::new();
    for script in scripts {
        conn.cmd(&["CONFIG", "RESETSTAT"]);
        let reply = conn.cmd(script);
        figures.push(String::from_utf8_lossy(&reply[..reply.len().min(60)]).into_owned());
        let info = conn.cmd(&["INFO", "all"]);
        let mut lines = Vec::new();
        for line in String::from_utf8_lossy(&info).lines() {
            let wanted = line.starts_with("errorstat_")
                || line.starts_with("total_error_replies:")
                || commands
                    .iter()
                    .any(|c| line.starts_with(&format!("cmdstat_{c}:")));
            if wanted {
                // The timings differ from run to run: keep the counts.
                let counts: Vec<&str> = line
                    .split([',', ':'])
                    .filter(|field| !field.starts_with("usec"))
                    .collect();
                lines.push(counts.join(","));
            }
        }
        // The servers list commands in different orders.
        lines.sort();
        figures.extend(lines);
    }
    figures
}

#[test]
fn errors_of_a_scripts_commands_are_counted_once_as_redis_counts_them() {
    let scripts: &[&[&str]] = &[
        &["EVAL", "return redis.call('select', 99)", "0"],
        &[
            "EVAL",
            "local t = redis.pcall('select', 99) return t['err']",
            "0",
        ],
        &["EVAL", "return redis.pcall('select', 99)", "0"],
        &["EVAL_RO", "return redis.call('set', 'x', 'y')", "1", "x"],
        &[
            "EVAL_RO",
            "return redis.pcall('set', 'x', 'y')['err']",
            "1",
            "x",
        ],
        &["EVAL", "return redis.call('nosuchcommand')", "0"],
        &["EVAL", "return redis.call('get')", "0"],
        &["EVAL", "return redis.call('get', {})", "0"],
        &[
            "EVAL",
            "local t = redis.pcall('get', 'a', 'b') local r = {} \
             for k, v in pairs(t) do table.insert(r, k .. '=' .. tostring(v)) end \
             table.sort(r) return r",
            "0",
        ],
        &[
            "EVAL",
            "local t = redis.pcall('get', {}) local r = {} \
             for k, v in pairs(t) do table.insert(r, k .. '=' .. tostring(v)) end return r",
            "0",
        ],
        &["EVAL", "return error('mine')", "0"],
        &["EVAL", "return redis.error_reply('MINE custom')", "0"],
    ];
    let commands = ["eval", "eval_ro", "select", "set", "get"];
    let reddish = Server::start();
    let redis = common::RedisServer::start();
    let ours = error_figures(&reddish, scripts, &commands);
    let theirs = error_figures(&redis, scripts, &commands);
    assert_eq!(ours, theirs);
}
