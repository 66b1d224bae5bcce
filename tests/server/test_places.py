#!/usr/bin/python3
"""test_places.py: the place search and requests placed at places (SPEC "Places and a street map,
offline"), over HTTP against the real server, with the harness of api_test.py.

A new database gets Củ Chi's areas and its GeoNames place names; GET /api/v1/places finds areas
of every level and those names whatever the spelling (case, diacritics, đ/d), every query word a
prefix of a word of the name; places a district imports with `helpmap import-places` reach a
running server within 5 s; a request can stand at a place (location_precision "place"), and an
address-only request stands at the place its address names in its commune.

Run by ctest as
    python3 tests/server/test_places.py --bin BUILD/helpmap --web WEB --data tests/data
"""
import json
import os
import sys
import tempfile
import time
import unicodedata
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test as A  # noqa: E402

# Former ward 27547 (Tân Thạnh Đông, 2019), inside ward 27541 since 2025.
TTD = 'Tân Thạnh Đông'
TTD_CODE = '27547'
TTD_WARD = '27541'
GEONAMES = 'GeoNames (www.geonames.org)'

# Places of a district's own list (invented names), inside wards whose codes were computed
# with ogrinfo (see api_test.WARD_POINTS); ELSEWHERE is 1 km east of the school, same ward.
MARKET = ('Chợ Thử Nghiệm Bàu Tre', 'market', 106.4651, 10.9703, '27496')
SCHOOL = ('Trường Thử Nghiệm Phú Hòa', 'school', 106.5562, 10.9888, '27541')
ELSEWHERE = (106.5662, 10.9888)


def fold(text):
    """Lower case without diacritics, đ as d: how a resident may type a name."""
    text = unicodedata.normalize('NFD', text.lower().replace('đ', 'd'))
    return ''.join(c for c in text if not unicodedata.combining(c))


def q(path, **params):
    return path + '?' + urllib.parse.urlencode(params)


def feature(name, lon, lat, **props):
    p = {'name': name}
    p.update(props)
    return {'type': 'Feature', 'properties': p,
            'geometry': {'type': 'Point', 'coordinates': [lon, lat]}}


def write_geojson(dirname, features):
    fd, path = tempfile.mkstemp(suffix='.geojson', dir=dirname)
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
        json.dump({'type': 'FeatureCollection', 'features': features}, f, ensure_ascii=False)
    return path


class PlaceSearchTest(A.ServerTest):
    """The shipped names and the areas, searched as residents type them."""
    TEAMS = [('coord', 'coordinator', ())]

    def places(self, text, status=200, **params):
        r = self.srv.get(q('/api/v1/places', q=text, **params))
        self.assertEqual(r.status, status, r.text)
        j = r.json()
        self.assertEqual(j['attribution'].split(';')[0], GEONAMES)
        return j['places']

    def test_three_spellings_find_the_same_place(self):
        # The last: decomposed marks (NFD), as some keyboards send them.
        answers = [self.places(t) for t in ('tan thanh dong', 'TÂN THẠNH ĐÔNG', TTD,
                                            unicodedata.normalize('NFD', TTD))]
        for a in answers:
            self.assertEqual(a, answers[0])
        first = answers[0][0]
        self.assertEqual((first['name'], first['kind'], first['level'], first['code']),
                         (TTD, 'former_ward', 'former_ward', TTD_CODE))
        self.assertEqual(first['ward_code'], TTD_WARD)
        self.assertEqual(len(first['bbox']), 4)
        self.assertTrue(first['bbox'][0] <= first['lon'] <= first['bbox'][2])
        self.assertTrue(first['bbox'][1] <= first['lat'] <= first['bbox'][3])
        # The shipped GeoNames names of the same place follow the area.
        names = [p['name'] for p in answers[0]]
        self.assertIn('Xã Tân Thạnh Đông', names)
        self.assertIn('Cầu Tân Thạnh Đông', names)

    def test_d_and_dj_fold_together(self):
        for text in ('xom don', 'XÓM ĐỒN', 'Xom Đon', 'xóm dồn'):
            with self.subTest(text=text):
                self.assertIn('Xóm Đồn', [p['name'] for p in self.places(text)])

    def test_every_word_is_a_prefix_in_any_order(self):
        for text in ('tan th d', 'th dong', 'dong tan th', 'T TH Đ'):
            with self.subTest(text=text):
                self.assertIn((TTD, TTD_CODE),
                              [(p['name'], p.get('code')) for p in self.places(text, limit=50)])
        # A word that starts no word of the name finds nothing of it.
        self.assertNotIn(TTD, [p['name'] for p in self.places('tan thanh dongx', limit=50)])
        self.assertEqual(self.places('zzqx'), [])

    def test_exact_names_then_levels_first(self):
        got = self.places('tan an hoi')
        # Ward (2025) before the former ward of the same name, both exact; then the rest.
        self.assertEqual([(p['level'], p['code']) for p in got[:2]],
                         [('ward', '27496'), ('former_ward', '27532')])
        # "Xã Tân An Hội" is found with the word residents put before the name.
        self.assertEqual(self.places('xa tan an hoi')[0].get('code'), '27496')
        # Exact names outrank names that merely hold the query's words.
        got = self.places('tan thanh dong', limit=50)
        exact = [i for i, p in enumerate(got) if fold(p['name']) == 'tan thanh dong']
        other = [i for i, p in enumerate(got) if fold(p['name']) != 'tan thanh dong']
        self.assertEqual(len(exact), 2, got)  # the former ward and the GeoNames village
        self.assertTrue(other, got)
        self.assertLess(max(exact), min(other))

    def test_nearness_orders_equal_matches(self):
        lon, lat = 106.60, 11.10
        got = self.places('ap bon', limit=50, lat=lat, lon=lon)
        same = [p for p in got if p['name'] == 'Ấp Bốn']
        self.assertGreaterEqual(len(same), 2, got)
        dist = [A.vincenty(lon, lat, p['lon'], p['lat']) for p in same]
        self.assertEqual(dist, sorted(dist))
        for p, d in zip(same, dist):
            self.assertAlmostEqual(p['distance_m'], d, delta=max(5.0, d * 0.005))
        # From the other end of the district, the other one comes first.
        far = self.places('ap bon', limit=50, lat=10.95, lon=106.40)
        far_same = [p for p in far if p['name'] == 'Ấp Bốn']
        self.assertNotEqual((far_same[0]['lon'], far_same[0]['lat']),
                            (same[0]['lon'], same[0]['lat']))

    def test_limits(self):
        self.assertEqual(len(self.places('ap')), 10)
        self.assertEqual(len(self.places('ap', limit=3)), 3)
        many = self.places('ap', limit=50)
        self.assertEqual(len(many), 50)
        self.assertEqual(len({(p['name'], p['kind'], p['lon'], p['lat']) for p in many}), 50)

    def test_fields(self):
        for p in self.places('a', limit=50):
            self.assertTrue({'name', 'kind', 'lon', 'lat', 'ward_code'} <= set(p), p)
            self.assertTrue(set(p) <= {'name', 'kind', 'level', 'code', 'lon', 'lat', 'bbox',
                                       'ward_code'}, p)
            self.assertTrue(10.8 < p['lat'] < 11.3 and 106.3 < p['lon'] < 106.7, p)
            if 'level' in p:
                self.assertEqual(p['kind'], p['level'])
                self.assertIn(p['level'], ('ward', 'former_ward', 'hamlet'))

    def test_errors(self):
        cases = [
            ('/api/v1/places', 'q'),
            (q('/api/v1/places', q=''), 'q'),
            (q('/api/v1/places', q='   '), 'q'),
            (q('/api/v1/places', q='!!! ...'), 'q'),
            (q('/api/v1/places', q='a' * 201), 'q'),
            (q('/api/v1/places', q=' '.join(['ap'] * 11)), 'q'),
            (q('/api/v1/places', q='ap', limit=0), 'limit'),
            (q('/api/v1/places', q='ap', limit=51), 'limit'),
            (q('/api/v1/places', q='ap', limit='ten'), 'limit'),
            (q('/api/v1/places', q='ap', lat=11.0), 'lon'),
            (q('/api/v1/places', q='ap', lon=106.5), 'lat'),
            (q('/api/v1/places', q='ap', lat='north', lon=106.5), 'lat'),
            (q('/api/v1/places', q='ap', lat=91, lon=106.5), 'lat'),
            (q('/api/v1/places', q='ap', lat=11, lon='nan'), 'lon'),
        ]
        for path, field in cases:
            with self.subTest(path=path):
                self.assertError(self.srv.get(path), 400, 'invalid_field', field)
        # Invalid UTF-8 separates words: still an answer, never a crash.
        self.assertEqual(self.srv.get('/api/v1/places?q=%C3%28t%C3%A2n').status, 200)
        self.assertError(self.srv.call('POST', '/api/v1/places?q=ap', body={}), 405,
                         'method_not_allowed')

    def test_places_for_map_labels(self):
        r = self.srv.get('/api/v1/places/all')
        self.assertEqual(r.status, 200, r.text)
        fc = r.json()
        self.assertEqual(fc['type'], 'FeatureCollection')
        self.assertEqual(fc['attribution'], GEONAMES)
        names = [f['properties']['name'] for f in fc['features']]
        self.assertIn('Xóm Đồn', names)
        self.assertGreater(len(names), 100)
        for f in fc['features']:
            self.assertEqual(f['geometry']['type'], 'Point')
            self.assertEqual(f['properties']['source'], 'geonames')


class ImportPlacesTest(A.ServerTest):
    """A district's own list, imported from the command line into a running server."""
    TEAMS = [('coord', 'coordinator', ())]

    def find(self, text, limit=50):
        r = self.srv.get(q('/api/v1/places', q=text, limit=limit))
        self.assertEqual(r.status, 200, r.text)
        return r.json()['places']

    def wait_for(self, text, present, seconds=5.0):
        """Poll the search until `text`'s place is there (or gone); SPEC: within 5 s."""
        deadline = time.monotonic() + seconds
        while True:
            names = [p['name'] for p in self.find(text)]
            if (text in names) == present:
                return
            if time.monotonic() > deadline:
                self.fail('%r %s the search %.0f s after the import' %
                          (text, 'not in' if present else 'still in', seconds))
            time.sleep(0.1)

    def test_1_import_reaches_the_running_server(self):
        path = write_geojson(self.srv.dir, [
            feature(MARKET[0], MARKET[2], MARKET[3], kind=MARKET[1], code='M-1',
                    alt_names=['Chợ TN Bàu Tre']),
            feature(SCHOOL[0], SCHOOL[2], SCHOOL[3], code='S-1'),
        ])
        p = self.srv.cli('import-places', '--db', self.srv.db, '--kind', 'school', path)
        self.assertIn('imported 2 places', p.stdout)
        self.wait_for(MARKET[0], True)
        got = {x['name']: x for x in self.find('thu nghiem')}
        m, s = got[MARKET[0]], got[SCHOOL[0]]
        self.assertEqual((m['kind'], m['lon'], m['lat'], m['ward_code']), MARKET[1:])
        self.assertEqual((s['kind'], s['ward_code']), ('school', SCHOOL[4]))
        self.assertEqual(self.find('cho tn bau')[0]['name'], MARKET[0])
        # The shipped names are still there.
        self.assertIn('Xóm Đồn', [x['name'] for x in self.find('xom don')])

    def test_2_replace_and_code_upsert(self):
        path = write_geojson(self.srv.dir, [
            feature('Chợ Thử Nghiệm Mới', MARKET[2], MARKET[3], kind='market', code='M-1')])
        self.srv.cli('import-places', '--db', self.srv.db, path)
        self.wait_for('Chợ Thử Nghiệm Mới', True)
        self.wait_for(MARKET[0], False)  # same code: replaced
        self.assertIn(SCHOOL[0], [x['name'] for x in self.find('truong thu nghiem')])
        path = write_geojson(self.srv.dir, [
            feature('Trạm Thử Nghiệm', SCHOOL[2], SCHOOL[3], kind='medical')])
        self.srv.cli('import-places', '--db', self.srv.db, '--replace', path)
        self.wait_for('Trạm Thử Nghiệm', True)
        self.wait_for(SCHOOL[0], False)
        self.wait_for('Chợ Thử Nghiệm Mới', False)
        self.assertIn('Xóm Đồn', [x['name'] for x in self.find('xom don')])

    def test_3_refusals_name_each_feature_and_import_nothing(self):
        path = write_geojson(self.srv.dir, [
            feature('Bến Thử Nghiệm Tốt', MARKET[2], MARKET[3]),
            {'type': 'Feature', 'properties': {'kind': 'market'},
             'geometry': {'type': 'Point', 'coordinates': [106.5, 11.0]}},
            feature('Nơi Ngoài Vùng', A.SEA[0], A.SEA[1]),
            feature('Không Toạ Độ', 0, 0, kind='x') | {'geometry': None},
        ])
        p = self.srv.cli('import-places', '--db', self.srv.db, path, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.strip().splitlines()
        for index, word in ((1, 'name'), (2, 'outside'), (3, 'geometry')):
            self.assertTrue(any(('feature %d ' % index) in line and word in line
                                for line in lines), (index, word, p.stderr))
        self.assertFalse(any('feature 0 ' in line for line in lines), p.stderr)
        self.assertIn('nothing imported', lines[-1])
        time.sleep(1.5)  # a wrong import would have reached the server by now
        self.assertNotIn('Bến Thử Nghiệm Tốt', [x['name'] for x in self.find('ben thu nghiem')])

    def test_4_shipped_names_reloaded(self):
        self.srv.cli('import-places', '--db', self.srv.db, '--shipped')
        time.sleep(1.5)  # the reload reaches the server, which must still find each name once
        got = [p for p in self.find('xom don') if p['name'] == 'Xóm Đồn']
        self.assertEqual(len(got), 1, got)
        p = self.srv.cli('import-places', '--db', self.srv.db, '--shipped', 'x.geojson',
                         check=False)
        self.assertEqual(p.returncode, 2)

    def test_5_bad_arguments(self):
        for args in (['import-places'], ['import-places', '--db', self.srv.db],
                     ['import-places', '--db', self.srv.db, '--kind'],
                     ['import-places', '--db', self.srv.db, '--bogus', 'x.geojson']):
            with self.subTest(args=args):
                p = self.srv.cli(*args, check=False)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = self.srv.cli('import-places', '--db', self.srv.db,
                         os.path.join(self.srv.dir, 'missing.geojson'), check=False)
        self.assertEqual(p.returncode, 1)
        p = self.srv.cli('import-places', '--help')
        self.assertIn('usage: helpmap import-places', p.stdout)


class PlacedRequestTest(A.ServerTest):
    """Requests that stand at a place: picked from the search, or named in an address."""
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ())]

    @classmethod
    def prepare(cls, srv):
        path = write_geojson(srv.dir, [
            feature(MARKET[0], MARKET[2], MARKET[3], kind='market', code='M-1'),
            feature(SCHOOL[0], SCHOOL[2], SCHOOL[3], kind='school', code='S-1'),
            # The same name in another commune: never taken for a request of the first.
            feature(MARKET[0], ELSEWHERE[0], ELSEWHERE[1], kind='market', code='M-2'),
        ])
        srv.cli('import-places', '--db', srv.db, path)

    def read(self, created):
        j = created.json()
        return self.srv.resident_get(j['request']['code'], j['token'])

    def test_request_at_a_picked_place(self):
        hit = self.srv.get(q('/api/v1/places', q='cho thu nghiem bau tre')).json()['places'][0]
        r = self.srv.post('/api/v1/requests', {
            'lat': hit['lat'], 'lon': hit['lon'], 'location_precision': 'place',
            'category': 'food', 'people': 2, 'phone': A.fresh_phone()})
        self.assertEqual(r.status, 201, r.text)
        got = self.read(r)
        self.assertEqual(got['location_precision'], 'place')
        self.assertEqual((got['lon'], got['lat']), (hit['lon'], hit['lat']))
        self.assertEqual(got['ward_code'], hit['ward_code'])

    def test_unknown_precision_names_the_values(self):
        r = self.srv.post('/api/v1/requests', {
            'lat': MARKET[3], 'lon': MARKET[2], 'location_precision': 'street',
            'category': 'food', 'people': 2, 'phone': A.fresh_phone()})
        e = self.assertError(r, 400, 'invalid_field', 'location_precision')
        self.assertIn('place', e['message'])

    def test_address_names_a_place_of_its_commune(self):
        for token, address in ((None, 'nhà bà Năm, gần chợ thử nghiệm Bàu Tre'),
                               (self.srv.token('op'), 'CHỢ THỬ NGHIỆM BÀU TRE, cổng sau')):
            with self.subTest(address=address):
                r = self.srv.post('/api/v1/requests', {
                    'ward_code': MARKET[4], 'address': address, 'category': 'water',
                    'people': 1, 'phone': A.fresh_phone()}, token=token)
                self.assertEqual(r.status, 201, r.text)
                got = self.read(r)
                self.assertEqual(got['location_precision'], 'place')
                self.assertEqual((got['lon'], got['lat']), (MARKET[2], MARKET[3]))
                self.assertEqual(got['ward_code'], MARKET[4])

    def test_shipped_names_place_an_address(self):
        hit = [p for p in self.srv.get(q('/api/v1/places', q='xom don')).json()['places']
               if p['name'] == 'Xóm Đồn'][0]
        r = self.srv.post('/api/v1/requests', {
            'ward_code': hit['ward_code'], 'address': 'số 12 Xóm Đồn', 'category': 'food',
            'people': 1, 'phone': A.fresh_phone()})
        self.assertEqual(r.status, 201, r.text)
        got = self.read(r)
        self.assertEqual((got['location_precision'], got['lon'], got['lat']),
                         ('place', hit['lon'], hit['lat']))

    def test_no_place_in_the_commune_falls_back_to_its_point(self):
        # The school is in another commune; an unknown name; the commune's own name (also a
        # former commune's and a GeoNames commune point's: nothing more than the commune).
        for address in ('gần trường thử nghiệm Phú Hòa', 'nhà số 3 hẻm 7', 'xã An Nhơn Tây',
                        'ấp 3, An Nhơn Tây, Củ Chi'):
            with self.subTest(address=address):
                r = self.srv.post('/api/v1/requests', {
                    'ward_code': '27508', 'address': address, 'category': 'food', 'people': 1,
                    'phone': A.fresh_phone()})
                self.assertEqual(r.status, 201, r.text)
                got = self.read(r)
                self.assertEqual(got['location_precision'], 'address')
                self.assertAlmostEqual(got['lon'], A.WARD_27508_REP[0], places=6)
                self.assertAlmostEqual(got['lat'], A.WARD_27508_REP[1], places=6)

    def test_same_name_elsewhere_is_not_taken(self):
        r = self.srv.post('/api/v1/requests', {
            'ward_code': SCHOOL[4], 'address': 'chợ thử nghiệm bàu tre', 'category': 'food',
            'people': 1, 'phone': A.fresh_phone()})
        self.assertEqual(r.status, 201, r.text)
        got = self.read(r)
        self.assertEqual(got['location_precision'], 'place')
        self.assertEqual((got['lon'], got['lat']), ELSEWHERE)
        self.assertEqual(got['ward_code'], SCHOOL[4])


if __name__ == '__main__':
    A.main()
