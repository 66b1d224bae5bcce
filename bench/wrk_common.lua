-- wrk_common.lua: shared by the bench/*.lua wrk scripts (loaded with dofile).
-- Gives each wrk thread an id, reads the benchmark's input files, and prints one
-- machine-readable RESULT line at the end for bench/report.py.

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

-- Lines of a file split on spaces: {{"106.5", "11.0"}, ...}.
function load_rows(path)
    local rows = {}
    local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
    for line in f:lines() do
        local row = {}
        for w in line:gmatch("%S+") do
            row[#row + 1] = w
        end
        if #row > 0 then
            rows[#rows + 1] = row
        end
    end
    f:close()
    assert(#rows > 0, "no rows in " .. path)
    return rows
end

-- Scripts that need the status mix (create.lua: 201 vs 200 duplicate) define
-- response() to count into this table; the others leave it empty, since a Lua
-- response() callback costs wrk time on every answer.
statuses = {}

function done(summary, latency, requests)
    local errs = summary.errors
    local sockerr = errs.connect + errs.read + errs.write + errs.timeout
    local codes = {}
    for _, t in ipairs(threads) do
        local s = t:get("statuses")
        if s then
            for k, v in pairs(s) do
                codes[k] = (codes[k] or 0) + v
            end
        end
    end
    local list = {}
    for k, v in pairs(codes) do
        list[#list + 1] = k .. ":" .. v
    end
    table.sort(list)
    io.write(string.format(
        "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d mean_us=%.0f " ..
        "max_us=%d non2xx=%d sockerr=%d statuses=%s\n",
        summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
        errs.status, sockerr, #list > 0 and table.concat(list, ",") or "-"))
end
