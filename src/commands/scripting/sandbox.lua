-- Reddish's scripting sandbox, run once when the Lua state is made, with the full globals
-- table as its environment and the Rust primitives already in place. It returns the table
-- scripts see as their globals and the functions that run scripts.
--
-- Redis 7.0 runs scripts with read-only globals and library tables (a patch to its Lua VM).
-- Reddish keeps the stock Lua 5.1 VM and gets the same behaviour with views: every table a
-- script can reach by name is an empty view whose reads fall through to the real table and
-- whose writes are refused; `setmetatable` and `rawset` refuse views too.

local real = _G
local debug_getinfo = debug.getinfo
local setmetatable, getmetatable, rawset = setmetatable, getmetatable, rawset
local type, tostring, error, xpcall, pairs = type, tostring, error, xpcall, pairs
local raw_loadstring = loadstring
local enable_deprecated = real.redis.__deprecated
local register_function = real.redis.__register_function
local expired = real.redis.__expired
real.redis.__deprecated = nil
real.redis.__register_function = nil
real.redis.__expired = nil

-- The chunk name of this file: its frames are skipped when an error's place is reported.
local INTERNAL = "=[redis]"

-- Each view, and the table it shows (a locked metatable shows itself).
local views = setmetatable({}, { __mode = "k" })

local function refuse()
    error("Attempt to modify a readonly table", 2)
end

-- A read-only view of `t`: reads see `t`, writes fail, its metatable is itself read-only.
local function readonly(t)
    local view, locked = {}, {}
    setmetatable(locked, { __newindex = refuse, __metatable = locked })
    setmetatable(view, { __index = t, __newindex = refuse, __metatable = locked })
    views[view] = t
    views[locked] = locked
    return view
end

real.redis.error_reply = function(message)
    if type(message) ~= "string" then
        error("wrong number or type of arguments", 2)
    end
    if message:sub(1, 1) == "-" then
        message = message:sub(2)
    end
    local space = message:find(" ", 1, true)
    if not space then
        return { err = "ERR " .. message:gsub("[\r\n]+$", "") }
    end
    local code, text = message:sub(1, space - 1), message:sub(space + 1)
    return { err = code .. " " .. text:gsub("[\r\n]+$", "") }
end

real.redis.status_reply = function(message)
    if type(message) ~= "string" then
        error("wrong number or type of arguments", 2)
    end
    return { ok = message }
end

-- Where an error happened: the first frame that is neither C nor this file.
function real.__redis__err__handler(err)
    local level = 2
    local info = debug_getinfo(level, "Sl")
    while info and (info.what == "C" or info.source == INTERNAL) do
        level = level + 1
        info = debug_getinfo(level, "Sl")
    end
    if type(err) == "userdata" then
        -- Raised by a Rust callback (a library's argument error): placed as luaL_error
        -- places its errors, without the Rust side's traceback.
        local text = tostring(err)
        local traceback = text:find("\nstack traceback:", 1, true)
        if traceback then
            text = text:sub(1, traceback - 1)
        end
        local where = info and (info.short_src .. ":" .. info.currentline .. ": ") or ""
        err = { err = "ERR " .. where .. text }
    elseif type(err) ~= "table" or views[err] then
        err = { err = "ERR " .. tostring(err) }
    end
    if info then
        err.source = info.source
        err.line = info.currentline
    end
    return err
end
local handler = real.__redis__err__handler

-- Binary chunks can crash the VM: Redis refuses them, and so does this loader.
real.loadstring = function(text, name)
    if type(text) == "string" and text:sub(1, 1) == "\27" then
        return nil, "binary chunks are not allowed"
    end
    return raw_loadstring(text, name)
end

real.setmetatable = function(t, mt)
    if views[t] then
        error("Attempt to modify a readonly table", 0)
    end
    return setmetatable(t, mt)
end
real.rawset = function(t, k, v)
    if views[t] then
        error("Attempt to modify a readonly table", 0)
    end
    return rawset(t, k, v)
end

-- pcall gives the text of an error table ({err = text}) rather than the table, as Redis's.
-- A script stopped at its deadline cannot catch its own stop: pcall and xpcall raise it again.
local raw_pcall, raw_xpcall = pcall, xpcall
local function caught(ok, ...)
    if ok then
        return true, ...
    end
    local err = ...
    if expired() then
        error(err, 0)
    end
    if type(err) == "table" and type(rawget(err, "err")) == "string" then
        err = rawget(err, "err")
    end
    return false, err
end
real.pcall = function(...)
    return caught(raw_pcall(...))
end
local function xcaught(ok, ...)
    if not ok and expired() then
        error((...), 0)
    end
    return ok, ...
end
real.xpcall = function(f, handler)
    return xcaught(raw_xpcall(f, handler))
end

-- Iterating or reading a view raw sees the table it shows.
local raw_pairs, raw_next, raw_rawget, raw_ipairs = pairs, next, rawget, ipairs
real.pairs = function(t)
    return raw_pairs(views[t] or t)
end
real.next = function(t, k)
    return raw_next(views[t] or t, k)
end
real.rawget = function(t, k)
    return raw_rawget(views[t] or t, k)
end
real.ipairs = function(t)
    return raw_ipairs(views[t] or t)
end

-- unpack with a range whose length overflows a C int crashes stock Lua 5.1 (Redis patches its
-- copy): ranges too long for the Lua stack are refused before they reach it.
local raw_unpack = unpack
real.unpack = function(t, i, j)
    local first = i == nil and 1 or tonumber(i)
    local last = j == nil and (type(t) == "table" and #t or 0) or tonumber(j)
    if first and last and last - first >= 7999 then
        error("too many results to unpack", 2)
    end
    -- Only the arguments given: each takes a stack slot, and the stack has room for 8000.
    if j ~= nil then
        return raw_unpack(t, i, j)
    elseif i ~= nil then
        return raw_unpack(t, i)
    end
    return raw_unpack(t)
end

-- What scripts may use, as Redis 7.0 allows.
local allowed = {
    _G = true, _VERSION = true, __redis__err__handler = true, assert = true, bit = true,
    cjson = true, cmsgpack = true, collectgarbage = true, coroutine = true, error = true,
    gcinfo = true, getmetatable = true, ipairs = true, load = true, loadstring = true,
    math = true, next = true, pairs = true, pcall = true, rawequal = true, rawget = true,
    rawset = true, redis = true, select = true, setmetatable = true, string = true,
    struct = true, table = true, tonumber = true, tostring = true, type = true,
    unpack = true, xpcall = true,
}
if enable_deprecated then
    allowed.setfenv, allowed.getfenv, allowed.newproxy = true, true, true
end
local names = {}
for name in pairs(real) do
    names[#names + 1] = name
end
for _, name in ipairs(names) do
    if not allowed[name] then
        real[name] = nil
    elseif type(real[name]) == "table" and name ~= "_G" then
        real[name] = readonly(real[name])
    end
end

-- The string metatable is reachable through any string: lock it too.
getmetatable("").__metatable = readonly({})

local globals = {}
real._G = globals
setmetatable(real, {
    __index = function(_, name)
        error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end,
})
local locked = {}
setmetatable(locked, { __newindex = refuse, __metatable = locked })
setmetatable(globals, { __index = real, __newindex = refuse, __metatable = locked })
views[globals] = real
views[locked] = locked

-- What a library's code sees while FUNCTION LOAD runs it: only `redis`, with only
-- register_function, log and the constants.
local load_redis = { register_function = register_function, log = real.redis.log }
for _, name in ipairs({ "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION",
    "REDIS_VERSION_NUM" }) do
    load_redis[name] = real.redis[name]
end
setmetatable(load_redis, getmetatable(real))
local load_globals = { redis = readonly(load_redis) }
setmetatable(load_globals, getmetatable(real))

-- A library's environment: the load-time globals until `loaded` is called, the globals of
-- scripts after (its functions run with those).
local function library_env()
    local env, locked = {}, {}
    setmetatable(locked, { __newindex = refuse, __metatable = locked })
    local mt = { __index = load_globals, __newindex = refuse, __metatable = locked }
    setmetatable(env, mt)
    views[env] = load_globals
    views[locked] = locked
    local function loaded()
        mt.__index = globals
        views[env] = real
    end
    return env, loaded
end

-- Runs an EVAL script (a chunk) or a function's callback: true and the result, or false and
-- the error as a table {err, source, line}.
local function run_script(f)
    return xpcall(f, handler)
end
local function run_function(f, keys, args)
    return xpcall(function()
        return f(keys, args)
    end, handler)
end

return globals, run_script, run_function, library_env
