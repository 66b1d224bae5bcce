-- get.lua: GET one fixed path (e.g. /api/v1/stats) with Accept-Encoding: gzip like a browser,
-- only to print the RESULT line. wrk ... -s get.lua URL
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

wrk.headers["Accept-Encoding"] = "gzip"
