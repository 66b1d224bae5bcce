-- responders.lua: GET /api/v1/requests/{code}/responders?k=5 for sample open requests
-- (coordinator token), with Accept-Encoding: gzip like a browser. wrk ... -s responders.lua -- TOKEN CODES_FILE
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

local codes, n, hdrs

function init(args)
    codes, n = load_rows(args[2]), 0
    hdrs = {["Authorization"] = "Bearer " .. args[1], ["Accept-Encoding"] = "gzip"}
end

function request()
    n = n + 1
    local c = codes[(n * 13 + tid * 977) % #codes + 1]
    return wrk.format("GET", "/api/v1/requests/" .. c[1] .. "/responders?k=5", hdrs)
end
