-- process.lua: helpmap's basemap profile for tilemaker 2.2 (Debian 12).
--
-- Writes a compact subset of the OpenMapTiles schema (https://openmaptiles.org/schema/),
-- with the same layer and attribute names so that OpenMapTiles styles and helpmap's own
-- /style.json both read it:
--   transportation       class (motorway trunk primary secondary tertiary minor service
--                        track path rail ferry), ramp, brunnel, oneway
--   transportation_name  name, name:vi, name_en, class, ref
--   water                class (lake river pond)
--   waterway             class (river canal stream drain ditch), name, name:vi, name_en
--   landuse              class (residential commercial industrial retail school hospital
--                        cemetery ...)
--   landcover            class (farmland wood grass wetland sand), subclass
--   building             (no attributes)
--   place                class (city town village suburb hamlet ...), name, name:vi, name_en
-- Zooms 6 to 14 (config.json); MapLibre overzooms 14 for closer views.
--
-- Names: `name` is OSM's name tag (Vietnamese in Vietnam), `name:vi` and `name_en` are
-- written only when the object has name:vi / name:en, so labels use
-- ["coalesce", ["get", "name:vi"], ["get", "name"]].
-- helpmap reads transportation_name and place back at zoom 14 to make street and place
-- names searchable (tiles/basemap.c, hm_basemap_names), so every named street must reach
-- transportation_name at zoom 14.

-- Tags of nodes that reach node_function; other nodes are only way vertices.
node_keys = { "place" }

local function Set(list)
	local s = {}
	for _, v in ipairs(list) do s[v] = true end
	return s
end

-- Square metres of a pixel's square at a zoom (256 px tiles), for minimum zooms by area.
local function res2(z) return (40075016.7 / 256 / 2 ^ z) ^ 2 end

-- Minimum zoom at which an area covers at least `px` square pixels (6..14).
local function MinZoomByArea(obj, px)
	local area = obj:Area()
	for z = 6, 13 do
		if area >= res2(z) * px then obj:MinZoom(z); return end
	end
	obj:MinZoom(14)
end

local function SetNames(obj)
	local name = obj:Find("name")
	if name ~= "" then obj:Attribute("name", name) end
	local vi = obj:Find("name:vi")
	if vi ~= "" then obj:Attribute("name:vi", vi) end
	local en = obj:Find("name:en")
	if en ~= "" then obj:Attribute("name_en", en) end
end

local function HasName(obj)
	return obj:Holds("name") or obj:Holds("name:vi")
end

local function SetBrunnel(obj)
	if obj:Find("bridge") ~= "" and obj:Find("bridge") ~= "no" then obj:Attribute("brunnel", "bridge")
	elseif obj:Find("tunnel") ~= "" and obj:Find("tunnel") ~= "no" then obj:Attribute("brunnel", "tunnel")
	elseif obj:Find("ford") == "yes" then obj:Attribute("brunnel", "ford") end
end

-- ---- places ---------------------------------------------------------------------------

local placeMinZoom = { city = 6, town = 8, village = 10, suburb = 11, quarter = 12,
	hamlet = 12, neighbourhood = 13, isolated_dwelling = 14, locality = 14 }

function node_function(node)
	local place = node:Find("place")
	local mz = placeMinZoom[place]
	if mz and HasName(node) then
		node:Layer("place", false)
		node:MinZoom(mz)
		node:Attribute("class", place)
		SetNames(node)
	end
end

-- ---- roads ----------------------------------------------------------------------------

-- highway=* -> OpenMapTiles class and minimum zoom of the line.
local roadClass = {
	motorway = { "motorway", 6 }, trunk = { "trunk", 6 }, primary = { "primary", 7 },
	secondary = { "secondary", 9 }, tertiary = { "tertiary", 10 },
	motorway_link = { "motorway", 10 }, trunk_link = { "trunk", 10 },
	primary_link = { "primary", 10 }, secondary_link = { "secondary", 11 },
	tertiary_link = { "tertiary", 12 },
	unclassified = { "minor", 12 }, residential = { "minor", 12 }, living_street = { "minor", 12 },
	road = { "minor", 12 }, service = { "service", 13 }, track = { "track", 13 },
	pedestrian = { "path", 14 }, footway = { "path", 14 }, path = { "path", 14 },
	cycleway = { "path", 14 }, bridleway = { "path", 14 }, steps = { "path", 14 },
}
local majorNames = Set { "motorway", "trunk", "primary", "secondary" }

local function Road(way, highway)
	local rc = roadClass[highway]
	if not rc then return end
	local access = way:Find("access")
	if access == "private" or access == "no" then return end
	local class, mz = rc[1], rc[2]
	way:Layer("transportation", false)
	way:MinZoom(mz)
	way:Attribute("class", class)
	if highway:find("_link") then way:AttributeNumeric("ramp", 1) end
	SetBrunnel(way)
	local oneway = way:Find("oneway")
	if oneway == "yes" or oneway == "1" then way:AttributeNumeric("oneway", 1) end

	local ref = way:Find("ref")
	if HasName(way) or ref ~= "" then
		way:Layer("transportation_name", false)
		-- Names of small roads only where their lines are long enough to carry them.
		if majorNames[class] then way:MinZoom(math.max(mz, 10)) else way:MinZoom(math.max(mz, 13)) end
		way:Attribute("class", class)
		SetNames(way)
		if ref ~= "" then way:Attribute("ref", ref) end
	end
end

-- ---- ways and multipolygons -------------------------------------------------------------

local waterwayMinZoom = { river = 8, canal = 10, stream = 13, drain = 13, ditch = 14 }
local landuseClass = Set { "residential", "commercial", "industrial", "retail", "railway",
	"cemetery", "military", "school", "university", "college", "kindergarten", "hospital",
	"stadium", "pitch", "playground" }
local landcoverClass = { farmland = "farmland", farm = "farmland", orchard = "farmland",
	plant_nursery = "farmland", vineyard = "farmland", paddy = "farmland",
	wood = "wood", forest = "wood", wetland = "wetland", grass = "grass", meadow = "grass",
	grassland = "grass", park = "grass", village_green = "grass", recreation_ground = "grass",
	garden = "grass", beach = "sand", sand = "sand" }

function way_function(way)
	local highway = way:Find("highway")
	local waterway = way:Find("waterway")
	local natural = way:Find("natural")
	local landuse = way:Find("landuse")
	local leisure = way:Find("leisure")
	local amenity = way:Find("amenity")
	local isClosed = way:IsClosed()

	if highway ~= "" then
		Road(way, highway)
	elseif way:Find("railway") == "rail" then
		way:Layer("transportation", false)
		way:MinZoom(9)
		way:Attribute("class", "rail")
		SetBrunnel(way)
	elseif way:Find("route") == "ferry" then
		way:Layer("transportation", false)
		way:MinZoom(10)
		way:Attribute("class", "ferry")
	end

	-- Rivers and canals as lines; their banks (riverbank, natural=water) as water areas.
	local wmz = waterwayMinZoom[waterway]
	if wmz and not isClosed then
		way:Layer("waterway", false)
		way:MinZoom(wmz)
		way:Attribute("class", waterway)
		SetNames(way)
		SetBrunnel(way)
		return
	end

	if natural == "water" or waterway == "riverbank" or landuse == "reservoir" or
	   landuse == "basin" or landuse == "aquaculture" or leisure == "swimming_pool" then
		if not isClosed or way:Find("covered") == "yes" then return end
		local class = "lake"
		local water = way:Find("water")
		if waterway == "riverbank" or water == "river" or water == "canal" then class = "river"
		elseif water == "pond" or landuse == "aquaculture" or water == "fishpond" then class = "pond" end
		way:Layer("water", true)
		way:Attribute("class", class)
		MinZoomByArea(way, 4)
		return
	end

	if way:Find("building") ~= "" and way:Find("building") ~= "no" then
		way:Layer("building", true)
		if way:Area() > res2(13) * 4 then way:MinZoom(13) else way:MinZoom(14) end
		return
	end

	if not isClosed then return end
	local l = landuse
	if l == "" then l = natural end
	if l == "" then l = leisure end
	if landcoverClass[l] then
		way:Layer("landcover", true)
		way:Attribute("class", landcoverClass[l])
		way:Attribute("subclass", l)
		MinZoomByArea(way, 16)
	else
		if l == "" then l = amenity end
		if landuseClass[l] then
			way:Layer("landuse", true)
			way:Attribute("class", l)
			MinZoomByArea(way, 16)
		end
	end
end

-- vim: tabstop=4 shiftwidth=4 noexpandtab
