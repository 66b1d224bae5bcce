-- bbox.lua: the public GeoJSON query GET /api/v1/requests?bbox=... over a 0.01 degree box
-- (~1.1 km) centred on a sample point (open requests, default limit), with
-- Accept-Encoding: gzip like a browser.
-- wrk ... -s bbox.lua -- POINTS_FILE
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

local pts, n
local hdrs = {["Accept-Encoding"] = "gzip"}

function init(args)
    pts, n = load_rows(args[1]), 0
end

function request()
    n = n + 1
    local p = pts[(n * 13 + tid * 977) % #pts + 1]
    local lon, lat = tonumber(p[1]), tonumber(p[2])
    return wrk.format("GET", string.format("/api/v1/requests?bbox=%.4f,%.4f,%.4f,%.4f",
                                           lon - 0.005, lat - 0.005, lon + 0.005, lat + 0.005), hdrs)
end
