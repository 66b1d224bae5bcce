#!/usr/bin/python3
"""test_basemap_serve.py: the offline street map end to end (SPEC "Places and a street map,
offline"), with the harness of api_test.py.

The synthetic OpenStreetMap extract of tests/data/basemap (invented streets inside Củ Chi, every
name marked "giả lập") is converted to .osm.pbf with osmium, built with `helpmap basemap build`,
served with `helpmap serve --basemap`; its tiles are fetched and decoded (a small Mapbox Vector
Tile reader below, independent of helpmap's), its street names are found by /api/v1/places, and
the style, fonts and sprite the pages need come from the same server.

Needs Debian's osmium-tool and tilemaker: exits 77 (skipped) without them.

Run by ctest as
    python3 tests/server/test_basemap_serve.py --bin BUILD/helpmap --web WEB --data tests/data
"""
import gzip
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test as A  # noqa: E402

STREET_1 = 'Đường Thử Nghiệm Một (đường giả lập)'
STREET_2 = 'Đường Thử Nghiệm Hai (đường giả lập)'
STREET_3 = 'Đường Thử Nghiệm Ba (đường giả lập)'
PATH_1 = 'Lối Đi Thử Nghiệm (lối giả lập)'
HAMLET = 'Ấp Thử Nghiệm (ấp giả lập)'
VILLAGE = 'Làng Thử Nghiệm (làng giả lập)'
# A point of street 1 (node 1003 of the extract) and the z14 tile around it.
ON_STREET_1 = (106.5100, 10.9855)
OSM = 'OpenStreetMap'


# ---- a Mapbox Vector Tile 2.1 reader (protobuf wire format by hand) ---------------------------

def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7f) << s
        s += 7
        if c < 0x80:
            return r, i


def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 1:
            v, i = b[i:i + 8], i + 8
        elif w == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif w == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError('wire type %d' % w)
        yield f, w, v


def packed(b):
    out, i = [], 0
    while i < len(b):
        v, i = varint(b, i)
        out.append(v)
    return out


def value(b):
    for f, w, v in fields(b):
        if f == 1:
            return v.decode('utf-8')
        if f == 2:
            return struct.unpack('<f', v)[0]
        if f == 3:
            return struct.unpack('<d', v)[0]
        if f in (4, 5):
            return v
        if f == 6:
            return (v >> 1) ^ -(v & 1)
        if f == 7:
            return bool(v)
    return None


def decode_tile(b):
    """{layer name: [{'type': 1|2|3, 'properties': {...}, 'geometry': [commands]}]}"""
    layers = {}
    for f, _, lb in fields(b):
        if f != 3:
            continue
        name, keys, values, feats, extent = None, [], [], [], 4096
        for lf, _, lv in fields(lb):
            if lf == 1:
                name = lv.decode('utf-8')
            elif lf == 2:
                feats.append(lv)
            elif lf == 3:
                keys.append(lv.decode('utf-8'))
            elif lf == 4:
                values.append(value(lv))
            elif lf == 5:
                extent = lv
        out = []
        for fb in feats:
            tags, typ, geom = [], 0, []
            for ff, _, fv in fields(fb):
                if ff == 2:
                    tags = packed(fv)
                elif ff == 3:
                    typ = fv
                elif ff == 4:
                    geom = packed(fv)
            props = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
            out.append({'type': typ, 'properties': props, 'geometry': geom, 'extent': extent})
        layers[name] = out
    return layers


def tile_bounds(z, x, y):
    n = 2 ** z
    lon0, lon1 = x / n * 360 - 180, (x + 1) / n * 360 - 180
    lat0 = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / n))))
    lat1 = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    return lon0, lat0, lon1, lat1


def prepare_extract(dirname):
    osm = os.path.join(A.DATA, 'basemap', 'cuchi_synthetic.osm')
    pbf = os.path.join(dirname, 'cuchi_synthetic.osm.pbf')
    subprocess.run(['osmium', 'cat', '--no-progress', '--overwrite', '-o', pbf, osm], check=True,
                   capture_output=True, timeout=60)
    return pbf


class BasemapTest(A.ServerTest):
    """A server with the synthetic street map."""
    TEAMS = [('coord', 'coordinator', ())]

    @classmethod
    def prepare(cls, srv):
        cls.pbf = prepare_extract(srv.dir)
        cls.mbtiles = os.path.join(srv.dir, 'cuchi.mbtiles')
        t0 = time.monotonic()
        p = srv.cli('basemap', 'build', '--osm', cls.pbf, '--out', cls.mbtiles)
        cls.build_s = time.monotonic() - t0
        assert 'basemap written to' in p.stdout, p.stdout
        cls.SERVE_ARGS = ('--basemap', cls.mbtiles)

    def tile_path(self, lon, lat, z=14):
        x, y = A.tile_xy(lon, lat, z)
        return '/tiles/basemap/%d/%d/%d.mvt' % (z, x, y), (z, x, y)

    def test_build_reports_and_refuses_to_overwrite(self):
        size = os.path.getsize(self.mbtiles)
        self.assertGreater(size, 0)
        sys.stderr.write('\n[basemap] synthetic extract built in %.2f s into %d bytes\n' %
                         (self.build_s, size))
        p = self.srv.cli('basemap', 'build', '--osm', self.pbf, '--out', self.mbtiles,
                         check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn('--force', p.stderr)
        out = os.path.join(self.srv.dir, 'again.mbtiles')
        p = self.srv.cli('basemap', 'build', '--osm', self.pbf, '--out', out, '--bbox',
                         '106.505,10.97,106.53,11.0', '--force')
        self.assertTrue(os.path.exists(out))
        for args in (['basemap'], ['basemap', 'draw'], ['basemap', 'build', '--osm', self.pbf],
                     ['basemap', 'build', '--osm', self.pbf, '--out', out, '--bbox', '1,2,3'],
                     ['basemap', 'build', '--osm', self.pbf, '--out', out, '--bbox',
                      '106.6,10.9,106.5,11.0'],
                     ['basemap', 'build', '--bogus']):
            with self.subTest(args=args):
                p = self.srv.cli(*args, check=False)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = self.srv.cli('basemap', 'build', '--osm', os.path.join(self.srv.dir, 'none.osm.pbf'),
                         '--out', os.path.join(self.srv.dir, 'none.mbtiles'), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertFalse(os.path.exists(os.path.join(self.srv.dir, 'none.mbtiles')))
        self.assertIn('usage: helpmap basemap build', self.srv.cli('basemap', '--help').stdout)

    def test_tilejson(self):
        r = self.srv.get('/tiles/basemap.json')
        self.assertEqual(r.status, 200, r.text)
        tj = r.json()
        self.assertEqual(tj['tiles'], ['/tiles/basemap/{z}/{x}/{y}.mvt'])
        self.assertIn(OSM, tj['attribution'])
        self.assertEqual((tj['minzoom'], tj['maxzoom']), (6, 14))
        b = tj['bounds']
        self.assertTrue(106.3 < b[0] < b[2] < 106.7 and 10.9 < b[1] < b[3] < 11.2, b)
        ids = {layer['id'] for layer in tj['vector_layers']}
        self.assertTrue({'transportation', 'transportation_name', 'water', 'building',
                         'place'} <= ids, ids)

    def test_tile_decodes_with_the_invented_streets(self):
        path, (z, x, y) = self.tile_path(*ON_STREET_1)
        r = self.srv.get(path, headers={'Accept-Encoding': 'gzip'})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.headers.get('content-encoding'), 'gzip')
        self.assertEqual(r.headers['content-type'], 'application/vnd.mapbox-vector-tile')
        etag = r.headers['etag']
        raw = gzip.decompress(r.body)
        sys.stderr.write('\n[basemap] tile %s: %d bytes gzipped, %d bytes\n' %
                         (path, len(r.body), len(raw)))
        layers = decode_tile(raw)
        self.assertTrue({'transportation', 'transportation_name', 'building'} <= set(layers),
                        sorted(layers))
        names = {f['properties'].get('name') for f in layers['transportation_name']}
        self.assertIn(STREET_1, names)
        self.assertTrue(all(f['type'] == 2 for f in layers['transportation_name']))
        # name:vi first: street 3 carries it.
        vi = [f['properties'] for f in layers['transportation_name']
              if f['properties'].get('name') == STREET_3]
        if vi:
            self.assertEqual(vi[0].get('name:vi'), STREET_3)
        self.assertTrue(all(f['type'] == 3 for f in layers['building']))
        # Revalidation, and a client without gzip gets the same tile inflated.
        r2 = self.srv.get(path, headers={'Accept-Encoding': 'gzip', 'If-None-Match': etag})
        self.assertEqual(r2.status, 304)
        self.assertEqual(r2.body, b'')
        r3 = self.srv.get(path)
        self.assertEqual(r3.status, 200)
        self.assertNotIn('content-encoding', r3.headers)
        self.assertEqual(r3.body, raw)
        self.assertNotEqual(r3.headers['etag'], etag)
        self.assertEqual(self.srv.get(path, headers={'If-None-Match': r3.headers['etag']}).status,
                         304)

    def test_missing_and_malformed_tiles(self):
        # Outside the extract, and deeper than the file: empty tiles.
        for lon, lat, z in ((106.40, 11.15, 14), (ON_STREET_1[0], ON_STREET_1[1], 15)):
            path, _ = self.tile_path(lon, lat, z)
            with self.subTest(path=path):
                r = self.srv.get(path)
                self.assertEqual(r.status, 204)
                self.assertEqual(r.body, b'')
        for path in ('/tiles/basemap/14/1/2.png', '/tiles/basemap/31/0/0.mvt',
                     '/tiles/basemap/2/4/0.mvt', '/tiles/basemap/a/b/c.mvt',
                     '/tiles/basemap/14/-1/2.mvt', '/tiles/basemap/14/13039/7688'):
            with self.subTest(path=path):
                self.assertError(self.srv.get(path), 404, 'not_found')

    def test_street_names_are_searchable(self):
        deadline = time.monotonic() + 5
        while True:  # the names are read from the tiles in the background at start
            r = self.srv.get('/api/v1/places?' + urllib.parse.urlencode(
                {'q': 'duong thu nghiem mot'}))
            self.assertEqual(r.status, 200, r.text)
            got = r.json()
            if got['places'] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertIn(OSM, got['attribution'])
        self.assertIn('GeoNames', got['attribution'])
        first = got['places'][0]
        self.assertEqual((first['name'], first['kind']), (STREET_1, 'street'))
        self.assertEqual(first['ward_code'], '27553')
        lon0, lat0, lon1, lat1 = first['bbox']
        self.assertTrue(lon0 <= ON_STREET_1[0] <= lon1 and lat0 - 0.001 <= ON_STREET_1[1] <= lat1 +
                        0.001, first)
        names = [p['name'] for p in self.srv.get('/api/v1/places?q=thu+nghiem&limit=50')
                 .json()['places']]
        for want in (STREET_1, STREET_2, STREET_3, PATH_1, HAMLET, VILLAGE):
            self.assertIn(want, names)
        # Diacritics and đ folded as everywhere: "lối đi" typed as "loi di".
        self.assertEqual(self.srv.get('/api/v1/places?q=LOI+DI+thu').json()['places'][0]['name'],
                         PATH_1)
        # The basemap's names are the map's, not the labels' of a map without one.
        all_names = [f['properties']['name'] for f in
                     self.srv.get('/api/v1/places/all').json()['features']]
        self.assertNotIn(STREET_1, all_names)

    def test_request_at_a_street(self):
        hit = self.srv.get('/api/v1/places?q=duong+thu+nghiem+hai').json()['places'][0]
        r = self.srv.post('/api/v1/requests', {
            'lat': hit['lat'], 'lon': hit['lon'], 'location_precision': 'place',
            'category': 'water', 'people': 3, 'phone': A.fresh_phone()})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json()['request']['location_precision'], 'place')
        self.assertEqual(r.json()['request']['ward_code'], hit['ward_code'])

    def test_style_draws_the_basemap_under_the_areas(self):
        r = self.srv.get('/style.json')
        self.assertEqual(r.status, 200, r.text)
        st = r.json()
        self.assertEqual(st['version'], 8)
        self.assertEqual(st['sources']['basemap']['url'], '/tiles/basemap.json')
        self.assertEqual(st['glyphs'], '/fonts/{fontstack}/{range}.pbf')
        self.assertEqual(st['sprite'], '/sprite')
        ids = [layer['id'] for layer in st['layers']]
        base = [i for i, layer in enumerate(st['layers'])
                if layer.get('source') == 'basemap' and layer['type'] != 'symbol']
        areas = [i for i, layer in enumerate(st['layers'])
                 if layer.get('source') in ('wards', 'former_wards', 'hamlets')]
        requests = [i for i, layer in enumerate(st['layers']) if layer.get('source') == 'requests']
        self.assertTrue(base and areas and requests, ids)
        self.assertLess(max(base), min(areas))
        self.assertLess(max(areas), min(requests))
        road_name = st['layers'][ids.index('basemap-road-name')]
        self.assertEqual(road_name['layout']['text-field'][:2],
                         ['coalesce', ['get', 'name:vi']])
        dark = self.srv.get('/style.json?dark=1').json()
        self.assertNotEqual(dark['layers'][0]['paint'], st['layers'][0]['paint'])

    def test_fonts_and_sprite_come_from_this_server(self):
        # Latin and the Vietnamese letters (Latin Extended Additional, U+1E00-U+1EFF).
        for stack in ('Noto Sans Regular', 'Noto Sans Bold', 'Noto Sans Regular,Noto Sans Bold',
                      'Unknown Font,Noto Sans Bold'):
            for rng in ('0-255', '7680-7935'):
                path = '/fonts/%s/%s.pbf' % (urllib.parse.quote(stack), rng)
                with self.subTest(path=path):
                    r = self.srv.get(path)
                    self.assertEqual(r.status, 200, path)
                    self.assertGreater(len(r.body), 1000)
                    self.assertEqual(r.headers['content-type'], 'application/x-protobuf')
        # A phone that takes gzip gets the glyphs gzip'd (they were a third of
        # a team page's data on a slow link), the same bytes once unpacked.
        path = '/fonts/Noto%20Sans%20Regular/0-255.pbf'
        plain = self.srv.get(path)
        packed = self.srv.get(path, headers={'Accept-Encoding': 'gzip'})
        self.assertEqual(packed.status, 200)
        self.assertEqual(packed.headers.get('content-encoding'), 'gzip')
        self.assertLess(len(packed.body), len(plain.body) * 0.75)
        self.assertEqual(gzip.decompress(packed.body), plain.body)
        # A range the font has nothing in: an empty glyph set, not an error.
        r = self.srv.get('/fonts/Noto%20Sans%20Regular/61440-61695.pbf')
        self.assertEqual((r.status, r.body), (200, b''))
        for path in ('/fonts/Unknown/0-255.pbf', '/fonts/Noto%20Sans%20Regular/0-256.pbf',
                     '/fonts/Noto%20Sans%20Regular/1-256.pbf', '/fonts/..%2Fweb/0-255.pbf',
                     '/fonts/Noto%20Sans%20Regular/0-255.txt'):
            with self.subTest(path=path):
                self.assertEqual(self.srv.get(path).status, 404)
        for name in ('sprite', 'sprite@2x'):
            j = self.srv.get('/%s.json' % name)
            self.assertEqual(j.status, 200)
            self.assertIn('pin', j.json())
            png = self.srv.get('/%s.png' % name)
            self.assertEqual(png.status, 200)
            self.assertEqual(png.body[:8], b'\x89PNG\r\n\x1a\n')
            self.assertEqual(png.headers['content-type'], 'image/png')


class NoBasemapTest(A.ServerTest):
    """Without --basemap: no street map, the style without it, fonts and sprite still here."""
    TEAMS = [('coord', 'coordinator', ())]

    def test_no_street_map(self):
        self.assertError(self.srv.get('/tiles/basemap.json'), 404, 'not_found', 'basemap')
        self.assertError(self.srv.get('/tiles/basemap/14/13039/7688.mvt'), 404, 'not_found',
                         'basemap')
        st = self.srv.get('/style.json').json()
        self.assertNotIn('basemap', st['sources'])
        self.assertFalse([layer for layer in st['layers'] if layer.get('source') == 'basemap'])
        self.assertEqual(self.srv.get('/fonts/Noto%20Sans%20Regular/0-255.pbf').status, 200)
        self.assertEqual(self.srv.get('/sprite.json').status, 200)
        a = self.srv.get('/api/v1/places?q=xom+don').json()
        self.assertEqual(a['attribution'], 'GeoNames (www.geonames.org)')

    def test_a_bad_basemap_file_stops_serve(self):
        bad = os.path.join(self.srv.dir, 'bad.mbtiles')
        with open(bad, 'w') as f:
            f.write('not a database')
        for path in (bad, os.path.join(self.srv.dir, 'missing.mbtiles')):
            with self.subTest(path=path):
                p = subprocess.run([A.BIN, 'serve', '--db', os.path.join(self.srv.dir, 'x.db'),
                                    '--port', '0', '--basemap', path], capture_output=True,
                                   text=True, timeout=60)
                self.assertEqual(p.returncode, 1)
                self.assertIn('helpmap:', p.stderr)


if __name__ == '__main__':
    if not shutil.which('osmium') or not shutil.which('tilemaker'):
        print('test_basemap_serve: skipped: needs Debian\'s osmium-tool and tilemaker '
              '(scripts/deps.sh)')
        sys.exit(77)
    A.main()
