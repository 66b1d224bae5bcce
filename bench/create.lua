-- create.lua: POST /api/v1/requests with the operator token (no rate limit), a sample point
-- and a fresh phone each time (so no request is a duplicate of another).
-- wrk ... -s create.lua -- TOKEN POINTS_FILE RUN_DIGIT
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

local token, pts, run, n, hdrs

function init(args)
    token, pts, run, n = args[1], load_rows(args[2]), tonumber(args[3]) % 10, 0
    hdrs = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
end

function request()
    n = n + 1
    local p = pts[(n * 7 + tid * 131) % #pts + 1]
    local body = string.format(
        '{"lat":%s,"lon":%s,"category":"food","people":2,"phone":"+848%d%d%06d","note":"bench"}',
        p[2], p[1], run, tid % 10, n % 1000000)
    return wrk.format("POST", "/api/v1/requests", hdrs, body)
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end
