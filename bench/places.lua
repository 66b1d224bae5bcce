-- places.lua: GET /api/v1/places as a type-ahead sends it — every prefix of the names people
-- look for (areas, the shipped GeoNames names), typed with and without diacritics, some with
-- the caller's position. wrk ... -s places.lua URL
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

local names = {"tan thanh dong", "Tân Thạnh Đông", "phuoc hiep", "ấp bàu tre", "xom don",
               "trung lap thuong", "cho cu chi", "ap 3 trung an", "an nhon tay", "nhuan duc",
               "thai my", "binh my", "phu hoa dong", "tan an hoi", "kenh", "cau", "xa tan",
               "ap bon", "rach", "song sai gon"}
paths = {}

local function escape(s)
    return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

for i, n in ipairs(names) do
    -- Every prefix that ends a UTF-8 character, as a type-ahead sends it.
    for j = 1, #n do
        local nextb = n:byte(j + 1)
        if not nextb or nextb < 0x80 or nextb >= 0xC0 then
            local q = n:sub(1, j):gsub("%s+$", "")
            if #q > 0 then
                local p = "/api/v1/places?limit=8&q=" .. escape(q)
                if i % 2 == 0 then
                    p = p .. "&lat=11.0&lon=106.5"
                end
                paths[#paths + 1] = p
            end
        end
    end
end

local k = 0
function request()
    k = k % #paths + 1
    return wrk.format("GET", paths[k])
end
