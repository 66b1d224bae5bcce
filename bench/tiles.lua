-- tiles.lua: GET /tiles/requests/{z}/{x}/{y}.mvt over the tiles of TILES_FILE ("x y" lines,
-- busiest first) at zoom Z. MODE "all": requests cycle through every tile; MODE "median":
-- every request asks for the tile in the middle of the list (the cached case once the first
-- answer is in the cache: a tile of typical size, not the district's densest); MODE "one":
-- the first (busiest) tile. Sends Accept-Encoding: gzip like a browser.
-- wrk ... -s tiles.lua -- Z TILES_FILE MODE
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

local z, tiles, mode, n, hdrs

function init(args)
    z, tiles, mode, n = args[1], load_rows(args[2]), args[3], 0
    hdrs = {["Accept-Encoding"] = "gzip"}
end

function request()
    n = n + 1
    local t = tiles[1]
    if mode == "median" then
        t = tiles[math.floor((#tiles + 1) / 2)]
    elseif mode == "all" then
        t = tiles[(n * 7 + tid * 31) % #tiles + 1]
    end
    return wrk.format("GET", "/tiles/requests/" .. z .. "/" .. t[1] .. "/" .. t[2] .. ".mvt", hdrs)
end
