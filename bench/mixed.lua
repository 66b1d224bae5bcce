-- mixed.lua: the mixed load under which bench/run reads the server's peak RSS (VmHWM): per
-- 100 requests, 30 nearby, 10 responders, 25 z14 tiles and 5 z10 tiles (rotating), 10 GeoJSON
-- bbox queries, 19 creations (operator token) and 1 /stats; every GET with
-- Accept-Encoding: gzip.
-- wrk ... -s mixed.lua -- TOKEN_OPERATOR TOKEN_COORDINATOR POINTS CODES TILES14 TILES10 RUN_DIGIT
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

local op, co, pts, codes, t14, t10, run, n
local gz = {["Accept-Encoding"] = "gzip"}

function init(args)
    op = {["Authorization"] = "Bearer " .. args[1], ["Content-Type"] = "application/json"}
    co = {["Authorization"] = "Bearer " .. args[2], ["Accept-Encoding"] = "gzip"}
    pts, codes = load_rows(args[3]), load_rows(args[4])
    t14, t10 = load_rows(args[5]), load_rows(args[6])
    run, n = tonumber(args[7]) % 10, 0
end

function request()
    n = n + 1
    local k = (n * 37 + tid * 11) % 100
    local p = pts[(n * 13 + tid * 977) % #pts + 1]
    if k < 30 then
        return wrk.format("GET", "/api/v1/requests/nearby?lat=" .. p[2] .. "&lon=" .. p[1] ..
                          "&limit=5", co)
    elseif k < 40 then
        local c = codes[(n * 13 + tid * 977) % #codes + 1]
        return wrk.format("GET", "/api/v1/requests/" .. c[1] .. "/responders?k=5", co)
    elseif k < 65 then
        local t = t14[(n * 7 + tid * 31) % #t14 + 1]
        return wrk.format("GET", "/tiles/requests/14/" .. t[1] .. "/" .. t[2] .. ".mvt", gz)
    elseif k < 70 then
        local t = t10[(n * 7 + tid * 31) % #t10 + 1]
        return wrk.format("GET", "/tiles/requests/10/" .. t[1] .. "/" .. t[2] .. ".mvt", gz)
    elseif k < 80 then
        local lon, lat = tonumber(p[1]), tonumber(p[2])
        return wrk.format("GET", string.format("/api/v1/requests?bbox=%.4f,%.4f,%.4f,%.4f",
                                               lon - 0.005, lat - 0.005, lon + 0.005, lat + 0.005),
                          gz)
    elseif k < 99 then
        local body = string.format(
            '{"lat":%s,"lon":%s,"category":"water","people":3,"phone":"+847%d%d%06d"}',
            p[2], p[1], run, tid % 10, n % 1000000)
        return wrk.format("POST", "/api/v1/requests", op, body)
    else
        return wrk.format("GET", "/api/v1/stats", gz)
    end
end
