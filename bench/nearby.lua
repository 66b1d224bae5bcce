-- nearby.lua: GET /api/v1/requests/nearby?lat=&lon=&limit=5 around sample points
-- (coordinator token: any team's view), with Accept-Encoding: gzip like a browser. wrk ... -s nearby.lua -- TOKEN POINTS_FILE
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

local pts, n, hdrs

function init(args)
    pts, n = load_rows(args[2]), 0
    hdrs = {["Authorization"] = "Bearer " .. args[1], ["Accept-Encoding"] = "gzip"}
end

function request()
    n = n + 1
    local p = pts[(n * 13 + tid * 977) % #pts + 1]
    return wrk.format("GET", "/api/v1/requests/nearby?lat=" .. p[2] .. "&lon=" .. p[1] ..
                      "&limit=5", hdrs)
end
