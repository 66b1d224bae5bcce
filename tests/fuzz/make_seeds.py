#!/usr/bin/python3
"""make_seeds.py: (re)write the small seed corpora under tests/fuzz/corpus/.

Seeds are hand-written valid and almost-valid inputs of each target, so the
fuzzer starts from the shapes the server really sees. Inputs of fixed
crashes are added by hand as corpus/<target>/regress-*; this script never
touches those. Run: tests/fuzz/make_seeds.py (stdlib only)."""
import json
import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_request_body ---------------------------------------------------------
bodies = {
    "gps": {"lat": 10.97, "lon": 106.49, "category": "food", "people": 2,
            "phone": "0909 123 456", "name": "Nguyễn Văn A", "note": "Hết gạo"},
    "address": {"ward_code": "27496", "hamlet_code": "H1", "address": "12 ấp 3",
                "category": "medical", "phone": "+84909123456", "vulnerable": ["elderly"]},
    "hotline": {"lat": 11.0, "lon": 106.5, "category": "rescue", "people": 500,
                "phone": "0084-909-123-456", "source": "hotline", "location_precision": "pin"},
    "all_vulnerable": {"lat": 11.0, "lon": 106.5, "category": "other", "people": 1,
                       "vulnerable": ["elderly", "child", "pregnant", "disabled", "sick"],
                       "phone": "(090) 912.3456"},
    # issue 19: someone else reports, the place comes as a pasted link or coordinates
    "for_other": {"lat": 11.0, "lon": 106.5, "category": "food", "phone": "0909 123 456",
                  "reporter": {"name": "Chị Lan", "phone": "0912 000 111"}},
    "pasted_link": {"location_text": "https://www.google.com/maps/place/Nh%C3%A0/@11.0392,"
                                     "106.4962,17z/data=!3m1!4b1!8m2!3d11.0392!4d106.4962",
                    "category": "rescue", "phone": "0909 123 456"},
    "pasted_dms": {"location_text": "Toạ độ: 10°59'36.7\"N 106°29'31.6\"E (nhà bà Tư)",
                   "category": "water", "phone": "0909 123 456", "people": 6},
    "pasted_short": {"location_text": "https://maps.app.goo.gl/AbCd", "category": "food",
                     "phone": "0909 123 456"},
    "pasted_and_lat": {"location_text": "geo:11.0,106.5", "lat": 11.0, "lon": 106.5,
                       "category": "food", "phone": "0909 123 456"},
    "reporter_bad": {"lat": 11.0, "lon": 106.5, "category": "food", "phone": "0909 123 456",
                     "reporter": {"name": ["x"], "phone": 912000111}},
}
for k, v in bodies.items():
    write("fuzz_request_body", k + ".json", json.dumps(v, ensure_ascii=False))
raw_bodies = {
    "lat_string": '{"lat":"10.9","lon":106.5,"category":"food","phone":"0909123456"}',
    "lat_huge": '{"lat":1e308,"lon":-1e308,"category":"food","phone":"0909123456"}',
    "lat_only": '{"lat":10.9,"category":"food","phone":"0909123456"}',
    "dup_key": '{"lat":10.9,"lat":11,"lon":106.5,"category":"food","phone":"0909123456"}',
    "people_float": '{"lat":10.9,"lon":106.5,"category":"food","people":2.5,"phone":"0909123456"}',
    "nul_in_note": '{"lat":10.9,"lon":106.5,"category":"food","note":"a\\u0000b","phone":"0909123456"}',
    "surrogate": '{"lat":10.9,"lon":106.5,"category":"food","name":"\\ud800","phone":"0909123456"}',
    "array": '[1,2,{"lat":1}]',
    "nested": '{"lat":{"lat":{"lat":[[[[[]]]]]}}}',
    "ward_ctrl": '{"ward_code":"27\\u0001496","address":"x","category":"food","phone":"0909123456"}',
}
for k, v in raw_bodies.items():
    write("fuzz_request_body", k + ".json", v)

# ---- fuzz_parsers ---------------------------------------------------------------
for i, s in enumerate([
        "requests/14/13107/7589.mvt", "wards.json", "former_wards/0/0/0.mvt",
        "hamlets/22/4194303/4194303.mvt", "requests/23/0/0.mvt", "requests/1/2/0.mvt",
        "requests/01/0/0.mvt", "requests/14/-1/0.mvt", "requests/14/99999999999/0.mvt",
        "requests.json?x", "roads/1/0/0.mvt", "requests/14/13107/7589.pbf",
        "CC-4K7M2B", "cc4k7m2b", "4K7M2B", "CC--4K7M2B ", "0909 123 456", "+84909123456",
        "0084 909 123 456", "(028) 3812-3456", "+1 202 555 0123", "00000000000",
        "2026-11-30T02:15:00Z", "2026-11-30T02:15:00.123+07:00", "1969-12-31T23:59:59Z",
        "9999-12-31 23:59:60-99:99"]):
    write("fuzz_parsers", "seed%02d" % i, s)

# ---- fuzz_geojson_area ------------------------------------------------------------
def feature(code, geom, **props):
    p = {"code": code, "name": "Ấp " + code}
    p.update(props)
    return {"type": "Feature", "properties": p, "geometry": geom}


def square(x, y, d):
    return [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]


areas = {
    "ward": {"type": "FeatureCollection", "features": [
        feature("27496", {"type": "Polygon", "coordinates": [square(106.45, 10.95, 0.05)]},
                parent_code="79", pop_2019=68399)]},
    "siblings": {"type": "FeatureCollection", "features": [
        feature("P", {"type": "Polygon", "coordinates": [square(106.4, 10.9, 0.2)]}),
        feature("A", {"type": "Polygon", "coordinates": [square(106.45, 10.95, 0.05)]},
                parent_code="P"),
        feature("B", {"type": "Polygon", "coordinates": [square(106.48, 10.95, 0.05)]},
                parent_code="P")]},
    "bowtie": feature("X1", {"type": "Polygon", "coordinates": [
        [[106.4, 10.9], [106.5, 11.0], [106.5, 10.9], [106.4, 11.0], [106.4, 10.9]]]}),
    "hole_multi": {"type": "FeatureCollection", "features": [
        feature("M1", {"type": "MultiPolygon", "coordinates": [
            [square(106.4, 10.9, 0.1), square(106.42, 10.92, 0.02)],
            [square(106.6, 10.9, 0.05)]]})]},
    "numeric_code": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": 27499, "name": None},
         "geometry": {"type": "Polygon", "coordinates": [square(106.45, 10.95, 0.01)]}}]},
    "outside_range": feature("BAD", {"type": "Polygon", "coordinates": [square(179.9, 89.9, 1)]}),
    "point": feature("PT", {"type": "Point", "coordinates": [106.4, 10.9]}),
    "degenerate": feature("D", {"type": "Polygon", "coordinates": [
        [[106.4, 10.9], [106.4, 10.9], [106.4, 10.9], [106.4, 10.9]]]}),
}
for k, v in areas.items():
    write("fuzz_geojson_area", k + ".geojson", json.dumps(v, ensure_ascii=False))
write("fuzz_geojson_area", "custom_fields.geojson",
      json.dumps(feature("ignored", {"type": "Polygon", "coordinates": [square(106.4, 10.9, .1)]},
                         id="H7", ten="Ấp 7", cha="27496")).encode() + b"\x01")


# ---- fuzz_mvt_areas / fuzz_mvt_points -------------------------------------------
def tile_of(lon, lat, z):
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def wkb_polygon(rings):
    out = struct.pack("<BII", 1, 3, len(rings))
    for r in rings:
        out += struct.pack("<I", len(r))
        for x, y in r:
            out += struct.pack("<dd", x, y)
    return out


for z in (8, 12, 14):
    x, y = tile_of(106.47, 10.97, z)
    wkb = wkb_polygon([square(106.45, 10.95, 0.05), square(106.46, 10.96, 0.01)])
    # mode 0, layer wards, default options, z, x, y, WKB
    write("fuzz_mvt_areas", "raw_wkb_z%d" % z,
          struct.pack("<BBBBII", 0, 0, 0, z, x, y) + wkb)
    # mode 2: steps around a point, 3 areas
    base = struct.pack("<HH", int((106.47 + 180) / 360 * 65535),
                       int((10.97 + 85) / 170 * 65535))
    body = bytes([2, 1, 1, z]) + base + bytes([8, 3])
    for i in range(3):
        body += bytes([i % 4, 1, 6]) + bytes([40, 0, 0, 40, 216, 0, 0, 216, 10, 10])
        body += bytes([2]) + b"%d" % i + bytes([2]) + b"Ap" + bytes([0]) + bytes(4 * 2 + 7)
    write("fuzz_mvt_areas", "steps_z%d" % z, body)
write("fuzz_mvt_areas", "raw_doubles",
      bytes([1, 2, 0, 12]) + struct.pack("<HH", 40000, 36000) + bytes([1, 1, 0, 5]) +
      struct.pack("<10d", 106.4, 10.9, float("nan"), 11.0, float("inf"), 10.9, 1e308, -1e308,
                  106.4, 10.9))

for z in (5, 10, 13, 16):
    x, y = tile_of(106.47, 10.97, z)
    pts = b""
    n = 20
    for i in range(n):
        pts += bytes([0]) + struct.pack("<HH", (i * 3001) % 65536, (i * 7919) % 65536)
        pts += struct.pack("<I", i + 1) + struct.pack("<II", 3, 1700000000)
    write("fuzz_mvt_points", "grid_z%d" % z, struct.pack("<BBII", 0, z, x, y) + bytes([n]) + pts)
write("fuzz_mvt_points", "raw_doubles",
      struct.pack("<BBII", 1 | (13 << 3), 14, 13107, 7589) + bytes([3]) +
      bytes([1]) + struct.pack("<dd", float("nan"), 10.9) + bytes(12) +
      bytes([1]) + struct.pack("<dd", 106.47, float("-inf")) + bytes(12) +
      bytes([1 | 2 | 4 | 8 | 32]) + struct.pack("<dd", 180.0, 85.05112877980659) + bytes(4) +
      b"\x03abc\x02zz\x01q\x02W1" + bytes(8))

# ---- fuzz_locparse ----------------------------------------------------------------
# One pasted location_text per accepted form, then refused ones.
locations = {
    "decimal": "10.9935, 106.4921",
    "decimal_semicolon": " 10.9935;106.4921\n",
    "decimal_comma": "10,9935 106,4921",
    "hemi_suffix": "10.9935N 106.4921E",
    "hemi_prefix": "N10.9935 E106.4921",
    "hemi_lon_first": "106.4921° E, 10.9935° N",
    "labels": "Latitude: 10.9935, Longitude: 106.4921",
    "dms": "10°59'36.7\"N 106°29'31.6\"E",
    "dms_primes": "10°59′36.7″N 106°29′31.6″E",
    "dms_spaces": "10 59 36.7 N, 106 29 31.6 E",
    "ddm": "10°59.612'N 106°29.527'E",
    "dms_signed": "-33 52 7.68, 151 12 33.48",
    "google_q": "https://www.google.com/maps?q=10.9935,106.4921",
    "google_query": "https://www.google.com/maps/search/?api=1&query=10.99%2C106.49",
    "google_at": "https://www.google.com.vn/maps/@10.9935,106.4921,15z",
    "google_place": "https://www.google.com/maps/place/Ch%E1%BB%A3+C%E1%BB%A7+Chi/"
                    "@10.98,106.48,17z/data=!3m1!4b1!4m6!3m5!1s0x310b:0x1!8m2!3d10.9935"
                    "!4d106.4921!16s%2Fg%2F11",
    "google_place_dms": "https://www.google.com/maps/place/10%C2%B059'36.7%22N+106%C2%B029'"
                        "31.6%22E/@10.9935,106.4899,17z",
    "google_search": "https://www.google.com/maps/search/10.99,+106.49",
    "google_dir": "https://www.google.com/maps/dir//10.99,106.49",
    "google_dir_data": "https://www.google.com/maps/dir/Home/Cho/@10.9,106.6,12z/data=!4m10!4m9"
                       "!1m2!2m2!1d106.70!2d10.80!1m5!1m1!1s0x0:0x1!2m2!1d106.4921!2d10.9935",
    "google_ll": "maps.google.com/?ll=10.99,106.49",
    "google_loc": "https://maps.google.com/maps?q=loc:10.99,106.49",
    "google_encoded": "https%3A%2F%2Fwww.google.com%2Fmaps%3Fq%3D10.99%252C106.49",
    "google_in_message": "Nhà tôi ở đây: https://www.google.com/maps?q=10.99,106.49 xin cứu",
    "osm_map": "https://www.openstreetmap.org/#map=17/10.99350/106.49210",
    "osm_marker": "https://www.openstreetmap.org/?mlat=10.99&mlon=106.49#map=12/10.5/106.0",
    "osm_route": "https://www.openstreetmap.org/directions?route=10.80%2C106.70%3B10.99%2C106.49",
    "apple_ll": "https://maps.apple.com/?ll=10.99,106.49",
    "apple_sll": "https://maps.apple.com/?q=Dropped%20Pin&sll=10.99,106.49",
    "geo": "geo:10.99,106.49",
    "geo_zoom": "geo:10.99,106.49?z=17",
    "geo_q": "geo:0,0?q=10.99,106.49(label)",
    "geo_u": "geo:10.99,106.49;crs=wgs84;u=35",
    "refuse_short_google": "https://maps.app.goo.gl/xyzXYZ",
    "refuse_short_osm": "https://osm.org/go/0EEQjE--",
    "refuse_short_apple": "https://maps.apple/p/abc.def",
    "refuse_range": "91, 181",
    "refuse_lon_first": "106.49, 10.99",
    "refuse_nan": "NaN, inf",
    "refuse_minutes": "10°60'0\"N 106°0'0\"E",
    "refuse_axes": "10N 20N",
    "refuse_ambiguous": "10,99,106,49",
    "refuse_site": "https://example.com/?q=10.99,106.49",
    "refuse_no_coords": "https://www.google.com/maps/place/Ch%E1%BB%A3+C%E1%BB%A7+Chi",
    "refuse_geo_crs": "geo:10.99,106.49;crs=EPSG:32648",
    "refuse_words": "nhà số 12 hẻm 34",
}
for k, v in locations.items():
    write("fuzz_locparse", k, v)
write("fuzz_locparse", "refuse_nul", b"10.99\x00, 106.49\xff\xfe")
write("fuzz_locparse", "refuse_long", b"10.9935, 106.4921" + b" " * 2040)
