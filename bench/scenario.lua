-- bench/scenario.lua - the wrk script of every bench/run.sh scenario.
--
--   BENCH_MODE=redirect wrk -t2 -c200 -d10s -s bench/scenario.lua http://127.0.0.1:8091
--
-- Environment (set by bench/run.sh):
--   BENCH_MODE      redirect  GET /<code> of a random bench link (also the nginx reference)
--                   create    POST /urls with a unique original_url
--                   read      GET /urls/<id> of a random bench link
--                   mix       90 % redirect, 5 % create, 5 % read
--   BENCH_LINKS     how many bench links exist: codes bench0000001.., ids BENCH_ID_BASE + n
--   BENCH_ID_BASE   the id of bench link n is BENCH_ID_BASE + n (an integer below 2^53)
--   BENCH_UID       owner of the created links (a bench user id), or "null"
--   BENCH_TAG       goes into every created original_url, so that a run's rows are findable
--   BENCH_DURATION  the -d of this run in seconds, and BENCH_GRACE_MS (see below)
--
-- Exact click accounting. wrk stops at -d and drops the requests still in flight, which the
-- server has answered (and recorded as clicks) all the same. So during the last
-- BENCH_GRACE_MS of the run every request that would redirect asks for a code that does not
-- exist instead (a 404, which records no click): the redirects sent before that all come back
-- and are counted, and "redirects answered" is exact. A 404 is an error only before the
-- grace period (a 302 then answers a redirect sent before it, and counts).
--
-- Counting: response() counts each status per thread; done() adds up the threads
-- (setup/thread:get) and prints one line, "BENCHRESULT key=value ...", that run.sh parses.
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]])

local mode = os.getenv("BENCH_MODE") or "redirect"
local links = tonumber(os.getenv("BENCH_LINKS") or "10000")
local id_base = tonumber(os.getenv("BENCH_ID_BASE") or "0")
local uid = os.getenv("BENCH_UID") or "null"
local tag = os.getenv("BENCH_TAG") or "bench"
local duration_ms = tonumber(os.getenv("BENCH_DURATION") or "10") * 1000
local grace_ms = tonumber(os.getenv("BENCH_GRACE_MS") or "0")
if mode == "create" or mode == "read" then
    grace_ms = 0 -- no clicks to account for
end

local ts = ffi.new("bench_timespec")
local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- Main state: the threads, for done().
local threads = {}
function setup(thread)
    thread:set("tid", #threads + 1)
    threads[#threads + 1] = thread
end

-- Thread state (globals, so that done() can thread:get them).
counts = {} -- status -> responses, except the expected 404s of the grace period
tail = 0    -- the 404s of the grace period
seq = 0
local grace_at = math.huge
local json_headers = { ["Content-Type"] = "application/json" }

function init(args)
    local t = tonumber(tid) or 1
    math.randomseed(os.time() * 1000 + t * 7919 + math.floor(now_ms() % 1000))
    for _ = 1, 10 do
        math.random() -- the first draws after a seed are poorly mixed in some Lua versions
    end
    if grace_ms > 0 then
        grace_at = now_ms() + duration_ms - grace_ms
    end
end

local function code_path(n)
    return string.format("/bench%07d", n)
end

local function redirect()
    if now_ms() >= grace_at then
        return wrk.format("GET", "/benchgrace")
    end
    return wrk.format("GET", code_path(math.random(links)))
end

local function create()
    seq = seq + 1
    local body = string.format(
        '{"user_id":%s,"original_url":"https://bench.example.com/%s/%d/%d","title":"bench"}',
        uid, tag, tonumber(tid) or 0, seq)
    return wrk.format("POST", "/urls", json_headers, body)
end

local function read()
    return wrk.format("GET", string.format("/urls/%d", id_base + math.random(links)))
end

if mode == "create" then
    request = create
elseif mode == "read" then
    request = read
elseif mode == "mix" then
    request = function()
        local r = math.random(100)
        if r <= 90 then
            return redirect()
        elseif r <= 95 then
            return create()
        end
        return read()
    end
else
    request = redirect
end

function response(status, headers, body)
    if status == 404 and now_ms() >= grace_at then
        tail = tail + 1
        return
    end
    counts[status] = (counts[status] or 0) + 1
end

-- The statuses each mode expects; anything else is an error.
local expected = {
    redirect = { [302] = true },
    create = { [201] = true },
    read = { [200] = true },
    mix = { [302] = true, [201] = true, [200] = true },
}

function done(summary, latency, requests)
    local all, tail_n = {}, 0
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("counts")) do
            all[status] = (all[status] or 0) + n
        end
        tail_n = tail_n + thread:get("tail")
    end
    local ok, bad, codes = 0, 0, {}
    for status, n in pairs(all) do
        if expected[mode][status] then
            ok = ok + n
        else
            bad = bad + n
        end
        codes[#codes + 1] = string.format("%d:%d", status, n)
    end
    table.sort(codes)
    local e = summary.errors
    io.write(string.format(
        "BENCHRESULT requests=%d duration_us=%d ok=%d bad_status=%d tail=%d c302=%d c201=%d "
            .. "c200=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d p999_us=%d "
            .. "max_us=%d mean_us=%.1f codes=%s\n",
        summary.requests, summary.duration, ok, bad, tail_n, all[302] or 0,
        all[201] or 0, all[200] or 0, e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
        latency.mean, #codes > 0 and table.concat(codes, ",") or "-"))
end
