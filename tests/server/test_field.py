#!/usr/bin/python3
"""test_field.py: issue 14, field readiness — a team's own queue and the request.assigned event,
editing requests, real merges, list filters and orders, compression and cached area outlines,
areas from the command line reaching a running server, teams from the API, bulk CSV import,
readable GIS layers, and the smaller points (nearby `next`, the no-JavaScript form, sources,
verification outcomes, many phones behind one address).

Uses the harness of api_test.py (the real server on a free loopback port, a temporary
database). Run by ctest as
    python3 tests/server/test_field.py --bin BUILD/helpmap --web WEB --data tests/data
"""
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test as A  # noqa: E402

WARD_POINTS = A.WARD_POINTS
FORMER_POINTS = A.FORMER_POINTS
fresh_phone = A.fresh_phone
SSE = A.SSE

# Inside the synthetic hamlets of tests/data/api_hamlets_synthetic.geojson (ward 27496).
IN_T01 = (106.461, 10.967)
IN_T02 = (106.467, 10.967)


def hist(req, kind=None, field=None):
    return [h for h in req['history'] if (kind is None or h.get('kind') == kind) and
            (field is None or h.get('field') == field)]


def feature_codes(fc):
    return [f['properties']['code'] for f in fc['features']]


# ---- 1. a team's own queue --------------------------------------------------------------------

class TeamQueueTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('far', 'volunteer', ()), ('other', 'volunteer', ())]

    def test_assignment_reaches_the_team_stream_and_its_queue(self):
        s = self.srv
        q, _ = s.create_ok(*WARD_POINTS[1][:2], phone='0909 555 121', note='cần gạo')
        mine = SSE(s, token=s.token('far'))
        theirs = SSE(s, token=s.token('other'))
        public = SSE(s)
        try:
            r = s.post('/api/v1/requests/%s/assign' % q['code'], {'team_id': s.team_id('far')},
                       token=s.token('coord'))
            self.assertEqual(r.status, 200, r.text)
            ev = mine.wait(lambda e: e.get('event') == 'request.assigned')
            self.assertIsNotNone(ev, mine.text())
            self.assertEqual(ev['data']['code'], q['code'])
            self.assertEqual(ev['data']['team_id'], s.team_id('far'))
            self.assertNoContact(ev['data'])
            # Only the team's own stream gets it (the others see request.updated).
            theirs.wait(lambda e: e.get('event') == 'request.updated' and
                        e['data'].get('code') == q['code'])
            public.wait(lambda e: e.get('event') == 'request.updated' and
                        e['data'].get('code') == q['code'])
            for other in (theirs, public):
                self.assertFalse([e for e in other.snapshot() if e.get('event') ==
                                  'request.assigned'], other.text())
        finally:
            for x in (mine, theirs, public):
                x.close()
        r = s.get('/api/v1/teams/me/requests', token=s.token('far'))
        self.assertEqual(r.status, 200, r.text)
        feats = r.json()['features']
        self.assertEqual([f['properties']['code'] for f in feats], [q['code']])
        self.assertEqual(feats[0]['properties']['phone'], '+84909555121')
        self.assertEqual(feats[0]['properties']['note'], 'cần gạo')
        self.assertIsNone(r.json()['next'])
        # Showing contact data is a reveal, recorded once per viewer and day.
        full = s.get('/api/v1/requests/%s' % q['code'], token=s.token('coord')).json()['request']
        reveals = [h for h in full['history'] if h['kind'] == 'reveal' and h['actor'] == 'far']
        self.assertEqual(len(reveals), 1, full['history'])
        # Another team's queue does not have it; the public has no queue.
        self.assertEqual(s.get('/api/v1/teams/me/requests', token=s.token('other'))
                         .json()['features'], [])
        self.assertError(s.get('/api/v1/teams/me/requests'), 401, 'unauthorized')
        self.assertError(s.get('/api/v1/teams/me/requests?x=1', token=s.token('far')), 400,
                         'invalid_field', 'x')

    def test_claim_is_not_announced_as_assignment(self):
        s = self.srv
        q, _ = s.create_ok(*WARD_POINTS[2][:2])
        mine = SSE(s, token=s.token('other'))
        try:
            r = s.post('/api/v1/requests/%s/claim' % q['code'], token=s.token('other'))
            self.assertEqual(r.status, 200, r.text)
            mine.wait(lambda e: e.get('event') == 'request.updated' and
                      e['data'].get('code') == q['code'])
            self.assertFalse([e for e in mine.snapshot() if e.get('event') == 'request.assigned'])
        finally:
            mine.close()
        s.post('/api/v1/requests/%s/status' % q['code'], {'status': 'new'}, token=s.token('other'))


# ---- 2. editing --------------------------------------------------------------------------------

class EditTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ()),
             ('vol2', 'volunteer', ())]

    def test_move_pin_changes_areas_counts_and_lists(self):
        s = self.srv
        a, b = WARD_POINTS[0], WARD_POINTS[1]
        q, _ = s.create_ok(a[0], a[1], category='food')

        def open_in(ward):
            fc = s.get('/api/v1/areas?level=ward').json()
            return {f['properties']['code']: f['properties']['open'] for f in fc['features']}[ward]
        before_a, before_b = open_in(a[2]), open_in(b[2])
        r = s.call('PATCH', '/api/v1/requests/%s' % q['code'], {'lat': b[1], 'lon': b[0]},
                   token=s.token('op'))
        self.assertEqual(r.status, 200, r.text)
        got = r.json()['request']
        self.assertEqual((got['ward_code'], got['former_ward_code']), (b[2], b[3]))
        self.assertEqual((got['lon'], got['lat']), (b[0], b[1]))
        self.assertEqual(got['location_precision'], 'pin')
        self.assertEqual((open_in(a[2]), open_in(b[2])), (before_a - 1, before_b + 1))
        # Lists (from memory) and the public list by ward follow the pin.
        self.assertIn(q['code'], feature_codes(s.get('/api/v1/requests?ward=%s' % b[2]).json()))
        self.assertNotIn(q['code'], feature_codes(s.get('/api/v1/requests?ward=%s' % a[2]).json()))
        full = s.get('/api/v1/requests/%s' % q['code'], token=s.token('coord')).json()['request']
        pos = hist(full, 'edit', 'position')
        self.assertEqual(len(pos), 1, full['history'])
        self.assertEqual(pos[0]['old'], '%.6f,%.6f' % (a[1], a[0]))
        self.assertEqual(pos[0]['new'], '%.6f,%.6f' % (b[1], b[0]))
        self.assertEqual(pos[0]['actor'], 'op')

    def test_fields_priority_note_and_history(self):
        s = self.srv
        q, tok = s.create_ok(*WARD_POINTS[2][:2], category='food', people=2, name='Lan',
                             note='hết gạo', phone='0909 555 201')
        self.assertEqual(q['priority'], 'normal')
        r = s.call('PATCH', '/api/v1/requests/%s' % q['code'],
                   {'category': 'water', 'people': 5, 'vulnerable': ['elderly'],
                    'phone': '0909 555 202', 'name': 'Nguyễn Thị Lan', 'address': 'ấp 3',
                    'note': 'thêm 3 người'}, token=s.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        got = r.json()['request']
        self.assertEqual((got['category'], got['people'], got['vulnerable'], got['priority']),
                         ('water', 5, ['elderly'], 'urgent'))
        self.assertEqual(got['phone'], '+84909555202')
        self.assertEqual(got['note'], 'hết gạo\nthêm 3 người')  # appended, never replaced
        self.assertEqual(r.json()['changed'], 7)
        full = s.get('/api/v1/requests/%s' % q['code'], token=s.token('coord')).json()['request']
        edits = {h['field']: h for h in hist(full, 'edit')}
        self.assertEqual(set(edits), {'category', 'people', 'vulnerable', 'phone', 'name',
                                      'address', 'note'})
        self.assertEqual((edits['category']['old'], edits['category']['new']), ('food', 'water'))
        self.assertEqual((edits['people']['old'], edits['people']['new']), ('2', '5'))
        self.assertEqual((edits['phone']['old'], edits['phone']['new']),
                         ('+84909555201', '+84909555202'))
        self.assertEqual(edits['note']['new'], 'thêm 3 người')
        # A volunteer that does not hold it sees the edits without contact values.
        other = s.get('/api/v1/requests/%s' % q['code'], token=s.token('vol')).json()['request']
        oe = {h['field']: h for h in hist(other, 'edit')}
        self.assertEqual((oe['people']['old'], oe['people']['new']), ('2', '5'))
        for f in ('phone', 'name', 'address', 'note'):
            self.assertIsNone(oe[f]['old'], oe[f])
            self.assertIsNone(oe[f]['new'], oe[f])
        self.assertNotIn('+84909555201', json.dumps(other))
        # The same edit again changes nothing and records nothing.
        r = s.call('PATCH', '/api/v1/requests/%s' % q['code'], {'people': 5},
                   token=s.token('coord'))
        self.assertEqual(r.json()['changed'], 0)
        # The resident edits their own with the tracking token.
        r = s.call('PATCH', '/api/v1/requests/%s?token=%s' % (q['code'], tok), {'people': 6})
        self.assertEqual(r.status, 200, r.text)
        full = s.resident_get(q['code'], tok)
        self.assertEqual(hist(full, 'edit', 'people')[-1]['actor'], 'resident')

    def test_roles(self):
        s = self.srv
        q, tok = s.create_ok(*WARD_POINTS[3][:2])
        path = '/api/v1/requests/%s' % q['code']
        self.assertError(s.call('PATCH', path, {'people': 3}), 404, 'not_found')
        self.assertError(s.call('PATCH', path + '?token=' + 'a' * 32, {'people': 3}), 404,
                         'not_found')
        self.assertError(s.call('PATCH', path, {'people': 3}, token=s.token('vol')), 403,
                         'forbidden')
        self.assertEqual(s.post(path + '/claim', token=s.token('vol')).status, 200)
        r = s.call('PATCH', path, {'people': 3, 'note': 'đã gọi'}, token=s.token('vol'))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['request']['note'], 'đã gọi')
        self.assertError(s.call('PATCH', path, {'people': 4}, token=s.token('vol2')), 403,
                         'forbidden')

    def test_invalid_edits_change_nothing(self):
        s = self.srv
        q, _ = s.create_ok(*WARD_POINTS[4][:2])
        path = '/api/v1/requests/%s' % q['code']
        before = s.get(path, token=s.token('coord')).json()['request']
        for body, status, code, field in (
                ({'status': 'resolved'}, 400, 'invalid_field', 'status'),
                ({'code': 'CC-000000'}, 400, 'invalid_field', 'code'),
                ({}, 400, 'invalid_field', None),
                ({'lat': 11.0}, 400, 'invalid_field', 'lon'),
                ({'lat': 'x', 'lon': 106.5}, 400, 'invalid_field', 'lat'),
                ({'people': 0}, 400, 'invalid_field', 'people'),
                ({'category': 'pizza'}, 400, 'invalid_field', 'category'),
                ({'phone': '12'}, 400, 'invalid_field', 'phone'),
                ({'note': ''}, 400, 'invalid_field', 'note'),
                ({'lat': A.SEA[1], 'lon': A.SEA[0]}, 422, 'outside_service_area', 'lat')):
            with self.subTest(body=body):
                self.assertError(s.call('PATCH', path, body, token=s.token('coord')), status,
                                 code, field)
        self.assertEqual(s.get(path, token=s.token('coord')).json()['request'], before)


# ---- 3. merges and reassignments ---------------------------------------------------------------

class MergeTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('t1', 'volunteer', ()), ('t2', 'volunteer', ())]

    def dup(self, b, a):
        return self.srv.post('/api/v1/requests/%s/status' % b, {'status': 'duplicate',
                                                                 'duplicate_of': a},
                             token=self.srv.token('coord'))

    def test_merge_records_both_and_carries_note_and_vulnerable(self):
        s = self.srv
        lon, lat = WARD_POINTS[5][:2]
        a, _ = s.create_ok(lon, lat, note='nhà A', category='food')
        b, _ = s.create_ok(lon + 0.0005, lat, note='ông bà già yếu', vulnerable=['elderly'],
                           category='food')
        r = self.dup(b['code'], a['code'])
        self.assertEqual(r.status, 200, r.text)
        ka = s.get('/api/v1/requests/%s' % a['code'], token=s.token('coord')).json()['request']
        kb = s.get('/api/v1/requests/%s' % b['code'], token=s.token('coord')).json()['request']
        self.assertEqual(ka['vulnerable'], ['elderly'])
        self.assertEqual(ka['priority'], 'urgent')
        self.assertIn('nhà A', ka['note'])
        self.assertIn('[%s] ông bà già yếu' % b['code'], ka['note'])
        m = hist(ka, 'merge')
        self.assertEqual(len(m), 1, ka['history'])
        self.assertEqual((m[0]['field'], m[0]['new'], m[0]['note']),
                         ('duplicate', b['code'], 'ông bà già yếu'))
        st = [h for h in kb['history'] if h['to'] == 'duplicate']
        self.assertEqual((st[0]['field'], st[0]['new']), ('duplicate_of', a['code']))
        # A volunteer sees the merge without the resident's words.
        kv = s.get('/api/v1/requests/%s' % a['code'], token=s.token('t1')).json()['request']
        self.assertIsNone(hist(kv, 'merge')[0]['note'])

    def test_chains_and_cycles_are_refused(self):
        s = self.srv
        lon, lat = WARD_POINTS[6][:2]
        a, _ = s.create_ok(lon, lat)
        b, _ = s.create_ok(lon + 0.001, lat)
        c, _ = s.create_ok(lon + 0.002, lat)
        self.assertEqual(self.dup(b['code'], a['code']).status, 200)
        before = s.snapshot()
        # c -> b where b is a duplicate: a chain.
        self.assertError(self.dup(c['code'], b['code']), 409, 'invalid_transition', 'duplicate_of')
        # a -> c while b duplicates a: a chain again.
        self.assertError(self.dup(a['code'], c['code']), 409, 'invalid_transition', 'duplicate_of')
        # itself
        self.assertError(self.dup(c['code'], c['code']), 400, 'invalid_field', 'duplicate_of')
        self.assertEqual(s.snapshot(), before)
        # b reopened, then a may become a duplicate of c; b -> a then is a chain (a is one).
        s.post('/api/v1/requests/%s/status' % b['code'], {'status': 'new'}, token=s.token('coord'))
        self.assertEqual(self.dup(a['code'], c['code']).status, 200)
        self.assertError(self.dup(b['code'], a['code']), 409, 'invalid_transition', 'duplicate_of')

    def test_reassign_names_both_teams(self):
        s = self.srv
        q, _ = s.create_ok(*WARD_POINTS[0][:2])
        path = '/api/v1/requests/%s' % q['code']
        for t in ('t1', 't2'):
            r = s.post(path + '/assign', {'team_id': s.team_id(t)}, token=s.token('coord'))
            self.assertEqual(r.status, 200, r.text)
        h = [x for x in s.get(path, token=s.token('coord')).json()['request']['history']
             if x['to'] == 'assigned']
        self.assertEqual([(x['field'], x['old'], x['new']) for x in h],
                         [('team', None, 't1'), ('team', 't1', 't2')])


# ---- 4. filters and orders -----------------------------------------------------------------------

class FilterTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ())]

    @classmethod
    def prepare(cls, srv):
        srv.cli('import-areas', '--db', srv.db, '--level', 'hamlet',
                os.path.join(A.DATA, A.HAMLET_FIXTURE))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.srv
        cls.reqs = {}
        mk = lambda key, lon, lat, **kw: cls.reqs.__setitem__(key, s.create_ok(lon, lat, **kw)[0])
        mk('t1_food', *IN_T01, category='food', note='Hết gạo ở nhà')
        mk('t2_med', *IN_T02, category='medical')
        mk('former', FORMER_POINTS[0][0], FORMER_POINTS[0][1], category='cash',
           address='Đường Tỉnh Lộ 15')
        mk('hotline', WARD_POINTS[3][0], WARD_POINTS[3][1], token=s.token('op'), category='water')
        r = s.post('/api/v1/requests/%s/verify' % cls.reqs['former']['code'],
                   token=s.token('op'))
        assert r.status == 200, r.text
        r = s.post('/api/v1/requests/%s/claim' % cls.reqs['t2_med']['code'], token=s.token('vol'))
        assert r.status == 200, r.text

    def codes(self, query, token=None):
        r = self.srv.get('/api/v1/requests?' + query, token=token or self.srv.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        return set(feature_codes(r.json()))

    def test_each_filter(self):
        R = {k: v['code'] for k, v in self.reqs.items()}
        self.assertEqual(self.codes('hamlet=27496-T01'), {R['t1_food']})
        self.assertEqual(self.codes('hamlet=27496-T01&status=all'), {R['t1_food']})
        self.assertEqual(self.codes('former_ward=%s' % FORMER_POINTS[0][3]), {R['former']})
        self.assertEqual(self.codes('priority=urgent'), {R['t2_med']})
        self.assertEqual(self.codes('priority=normal') & {R['t2_med']}, set())
        self.assertEqual(self.codes('team_id=%d' % self.srv.team_id('vol')), {R['t2_med']})
        self.assertEqual(self.codes('verified=true'), {R['former']})
        self.assertEqual(self.codes('source=hotline'), {R['hotline']})
        self.assertEqual(self.codes('source=web,hotline'), set(R.values()))
        # q: words in the note or address, diacritics and case ignored; operator+.
        self.assertEqual(self.codes('q=het%20GAO', token=self.srv.token('op')), {R['t1_food']})
        self.assertEqual(self.codes('q=tinh%20lo', token=self.srv.token('op')), {R['former']})
        self.assertEqual(self.codes('q=nothing%20here', token=self.srv.token('op')), set())
        self.assertError(self.srv.get('/api/v1/requests?q=gao'), 401, 'unauthorized', 'q')
        self.assertError(self.srv.get('/api/v1/requests?q=gao', token=self.srv.token('vol')), 403,
                         'forbidden', 'q')
        self.assertError(self.srv.get('/api/v1/requests?team_id=1'), 401, 'unauthorized')

    def test_unknown_or_bad_parameters_are_refused(self):
        s = self.srv
        for q, field in (('hamlett=x', 'hamlett'), ('status=open&foo=1', 'foo'),
                         ('priority=high', 'priority'), ('source=fax', 'source'),
                         ('order=random', 'order'), ('team_id=abc', 'team_id'),
                         ('order=urgent&cursor=12', 'cursor')):
            with self.subTest(q=q):
                self.assertError(s.get('/api/v1/requests?' + q), 400, 'invalid_field', field)
        self.assertError(s.get('/api/v1/export?format=csv&wardd=1', token=s.token('coord')), 400,
                         'invalid_field', 'wardd')
        self.assertError(s.get('/api/v1/areas?level=ward&x=1'), 400, 'invalid_field', 'x')

    def test_export_takes_the_filters(self):
        s = self.srv
        r = s.get('/api/v1/export?format=csv&hamlet=27496-T01', token=s.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        rows = list(A.csv.DictReader(A.io.StringIO(r.body.decode('utf-8-sig'))))
        self.assertEqual([x['code'] for x in rows], [self.reqs['t1_food']['code']])
        self.assertEqual(rows[0]['note'], 'Hết gạo ở nhà')
        r = s.get('/api/v1/export?format=geojson&ward=27496&status=all', token=s.token('coord'))
        codes = {f['properties']['code'] for f in r.json()['features']}
        self.assertTrue({self.reqs['t1_food']['code'], self.reqs['t2_med']['code']} <= codes)
        self.assertNotIn(self.reqs['hotline']['code'], codes)

    def test_orders_limits_and_cursors(self):
        s = self.srv
        lon, lat = WARD_POINTS[5][:2]
        made = [s.create_ok(lon + 0.0003 * i, lat, category=c)[0]
                for i, c in enumerate(('food', 'rescue', 'cash', 'medical'))]
        ids = [m['id'] for m in made]
        fc = s.get('/api/v1/requests?status=open&order=-id&limit=2').json()
        self.assertEqual([f['properties']['id'] for f in fc['features']], ids[::-1][:2])
        nxt = fc['next']
        fc = s.get('/api/v1/requests?status=open&order=-id&limit=2&cursor=%s' % nxt).json()
        self.assertEqual([f['properties']['id'] for f in fc['features']], ids[::-1][2:4])
        # urgent first, then oldest; the same order from memory and from the database.
        for status in ('open', 'all'):
            got, cursor = [], ''
            for _ in range(20):
                fc = s.get('/api/v1/requests?status=%s&order=urgent&limit=3%s' % (status, cursor)
                           ).json()
                got += [f['properties'] for f in fc['features']]
                if not fc['next']:
                    break
                cursor = '&cursor=' + fc['next']
            keys = [(0 if p['priority'] == 'urgent' else 1, p['created_at'], p['id']) for p in got]
            self.assertEqual(keys, sorted(keys))
            self.assertEqual(len({p['id'] for p in got}), len(got))
            self.assertTrue(set(ids) <= {p['id'] for p in got})


# ---- 5. compression and area outlines ------------------------------------------------------------

class CompressionTest(A.ServerTest):
    def test_areas_gzip_etag_and_simplify(self):
        s = self.srv
        plain = s.get('/api/v1/areas?level=former_ward')
        self.assertEqual(plain.status, 200)
        self.assertNotIn('content-encoding', plain.headers)
        etag = plain.headers['etag']
        gz = s.get('/api/v1/areas?level=former_ward', headers={'Accept-Encoding': 'gzip'})
        self.assertEqual(gz.headers.get('content-encoding'), 'gzip')
        self.assertIn('Accept-Encoding', gz.headers.get('vary', ''))
        self.assertEqual(json.loads(gzip.decompress(gz.body)), plain.json())
        self.assertLess(len(gz.body), len(plain.body) / 3)
        r = s.get('/api/v1/areas?level=former_ward', headers={'If-None-Match': etag})
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b'')
        # A new request moves a count: a new ETag, the count in the answer.
        q, _ = s.create_ok(*FORMER_POINTS[2][:2])
        r = s.get('/api/v1/areas?level=former_ward', headers={'If-None-Match': etag})
        self.assertEqual(r.status, 200)
        self.assertNotEqual(r.headers['etag'], etag)
        props = {f['properties']['code']: f['properties'] for f in r.json()['features']}
        before = {f['properties']['code']: f['properties'] for f in plain.json()['features']}
        code = FORMER_POINTS[2][3]
        self.assertEqual(props[code]['open'], before[code]['open'] + 1)
        # simplify= gives lighter outlines with the same areas and counts.
        light = s.get('/api/v1/areas?level=ward&simplify=100')
        full = s.get('/api/v1/areas?level=ward')
        self.assertEqual(light.status, 200, light.text)
        self.assertLess(len(light.body), len(full.body) / 2)
        lp = [(f['properties']['code'], f['properties']['open']) for f in light.json()['features']]
        fp = [(f['properties']['code'], f['properties']['open']) for f in full.json()['features']]
        self.assertEqual(lp, fp)
        for f in light.json()['features']:
            self.assertIn(f['geometry']['type'], ('Polygon', 'MultiPolygon'))
        # A point well inside a ward is still inside its light outline.
        for lon, lat, ward, _ in WARD_POINTS:
            g = [f for f in light.json()['features'] if f['properties']['code'] == ward][0]
            self.assertTrue(A.point_in_geometry((lon, lat), g['geometry']), ward)
        for bad in ('-1', 'x', '99999'):
            self.assertError(s.get('/api/v1/areas?simplify=' + bad), 400, 'invalid_field',
                             'simplify')

    def test_json_lists_are_gzipped(self):
        s = self.srv
        for i in range(20):
            s.create_ok(WARD_POINTS[0][0] + 0.0002 * i, WARD_POINTS[0][1])
        r = s.get('/api/v1/requests?status=all', headers={'Accept-Encoding': 'gzip'})
        self.assertEqual(r.headers.get('content-encoding'), 'gzip')
        self.assertEqual(r.headers.get('vary'), 'Accept-Encoding')
        self.assertGreaterEqual(len(json.loads(gzip.decompress(r.body))['features']), 20)
        r = s.get('/api/v1/stats', headers={'Accept-Encoding': 'gzip'})
        body = gzip.decompress(r.body) if r.headers.get('content-encoding') == 'gzip' else r.body
        self.assertIn('by_status', json.loads(body))


# ---- 6. areas from the command line --------------------------------------------------------------

def write_geojson(path, features):
    with open(path, 'w') as f:
        json.dump({'type': 'FeatureCollection', 'features': features}, f)


class CliAreasTest(A.ServerTest):
    def test_running_server_sees_imported_hamlets(self):
        s = self.srv
        before, _ = s.create_ok(*IN_T01)
        self.assertIsNone(before['hamlet_code'])
        out = s.cli('import-areas', '--db', s.db, '--level', 'hamlet',
                    os.path.join(A.DATA, A.HAMLET_FIXTURE)).stdout
        self.assertIn('imported 2 hamlet', out)
        deadline = time.monotonic() + 5
        while True:
            q, _ = s.create_ok(IN_T02[0], IN_T02[1] + 0.0005 * (5 - (deadline - time.monotonic())))
            if q['hamlet_code'] == '27496-T02' or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(q['hamlet_code'], '27496-T02')
        codes = [f['properties']['code'] for f in
                 s.get('/api/v1/areas?level=hamlet').json()['features']]
        self.assertEqual(codes, ['27496-T01', '27496-T02'])
        # The request made before the import was reassigned.
        got = s.get('/api/v1/requests/%s' % before['code'], token=s.token('coord')).json()
        self.assertEqual(got['request']['hamlet_code'], '27496-T01')


class CliAreaRulesTest(A.ServerTest):
    def test_cli_applies_the_api_rules(self):
        s = self.srv
        s.cli('import-areas', '--db', s.db, '--level', 'hamlet',
              os.path.join(A.DATA, A.HAMLET_FIXTURE))
        d = tempfile.mkdtemp(prefix='hm-areas-')
        try:
            over = os.path.join(d, 'over.geojson')
            write_geojson(over, [A.hamlet_feature('27496-X1', A.rect(106.459, 10.965, 106.463,
                                                                     10.969))])
            p = s.cli('import-areas', '--db', s.db, '--level', 'hamlet', over, check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn('27496-T01', p.stderr)  # the hamlet it overlaps, named
            orphan = os.path.join(d, 'orphan.geojson')
            write_geojson(orphan, [A.hamlet_feature('99999-X1', A.rect(106.40, 10.90, 106.41,
                                                                       10.91), parent='99999')])
            p = s.cli('import-areas', '--db', s.db, '--level', 'hamlet', orphan, check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn('99999', p.stderr)
            # Clipped to its ward: a hamlet reaching outside ward 27496 keeps only its part.
            big = os.path.join(d, 'big.geojson')
            write_geojson(big, [A.hamlet_feature('27496-B1', A.rect(106.40, 10.93, 106.455,
                                                                    10.99))])
            s.cli('import-areas', '--db', s.db, '--level', 'hamlet', big)
            ward = [f for f in s.get('/api/v1/areas?level=ward').json()['features']
                    if f['properties']['code'] == '27496'][0]['geometry']
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                fc = s.get('/api/v1/areas?level=hamlet').json()
                b1 = [f for f in fc['features'] if f['properties']['code'] == '27496-B1']
                if b1:
                    break
                time.sleep(0.2)
            self.assertTrue(b1)
            ring = b1[0]['geometry']['coordinates'][0]
            if b1[0]['geometry']['type'] == 'MultiPolygon':
                ring = ring[0]
            xs = [p[0] for p in ring]
            self.assertGreater(min(xs), 106.40 + 1e-6)  # the box went further west than the ward
            del ward
        finally:
            shutil.rmtree(d, ignore_errors=True)


# ---- 7. teams from the API ---------------------------------------------------------------------

class TeamsApiTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('vol', 'volunteer', ())]

    def test_add_rotate_disable_enable(self):
        s = self.srv
        r = s.post('/api/v1/teams', {'name': 'Đội Phước Hiệp 2', 'role': 'volunteer',
                                     'capabilities': ['boat', 'medical']}, token=s.token('coord'))
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.headers.get('cache-control'), 'no-store')
        j = r.json()
        team, tok = j['team'], j['token']
        self.assertEqual((team['name'], team['role'], team['capabilities']),
                         ('Đội Phước Hiệp 2', 'volunteer', ['boat', 'medical']))
        self.assertGreaterEqual(len(tok), 32)
        me = s.post('/api/v1/teams/me/status', {'status': 'available'}, token=tok)
        self.assertEqual(me.status, 200, me.text)
        self.assertEqual(me.json()['team']['id'], team['id'])
        r = s.post('/api/v1/teams/%d/rotate' % team['id'], token=s.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        new = r.json()['token']
        self.assertNotEqual(new, tok)
        self.assertError(s.get('/api/v1/teams/me/requests', token=tok), 401, 'unauthorized')
        self.assertEqual(s.get('/api/v1/teams/me/requests', token=new).status, 200)
        r = s.post('/api/v1/teams/%d/disable' % team['id'], token=s.token('coord'))
        self.assertEqual(r.json()['team']['disabled'], True)
        self.assertError(s.get('/api/v1/teams/me/requests', token=new), 401, 'unauthorized')
        ids = [f['properties']['id'] for f in s.get('/api/v1/teams', token=s.token('coord'))
               .json()['features']]
        self.assertNotIn(team['id'], ids)
        ids = [f['properties']['id'] for f in s.get('/api/v1/teams?disabled=true',
                                                    token=s.token('coord')).json()['features']]
        self.assertIn(team['id'], ids)
        r = s.post('/api/v1/teams/%d/enable' % team['id'], token=s.token('coord'))
        self.assertEqual(r.json()['team']['disabled'], False)
        self.assertEqual(s.get('/api/v1/teams/me/requests', token=new).status, 200)
        self.assertNotIn(tok, s.read_log())
        self.assertNotIn(new, s.read_log())

    def test_refusals(self):
        s = self.srv
        body = {'name': 'x', 'role': 'volunteer'}
        self.assertError(s.post('/api/v1/teams', body), 401, 'unauthorized')
        self.assertError(s.post('/api/v1/teams', body, token=s.token('vol')), 403, 'forbidden')
        self.assertError(s.post('/api/v1/teams', {'name': 'x', 'role': 'admin'},
                                token=s.token('coord')), 403, 'forbidden', 'role')
        for bad, field in (({'role': 'volunteer'}, 'name'), ({'name': 'x', 'role': 'king'}, 'role'),
                           ({'name': 'x', 'role': 'volunteer', 'capabilities': 'boat'},
                            'capabilities'),
                           ({'name': 'x', 'role': 'volunteer', 'token': 'abc'}, 'token')):
            with self.subTest(bad=bad):
                self.assertError(s.post('/api/v1/teams', bad, token=s.token('coord')), 400,
                                 'invalid_field', field)
        self.assertError(s.post('/api/v1/teams/999999/rotate', token=s.token('coord')), 404,
                         'not_found')
        self.assertError(s.post('/api/v1/teams/abc/enable', token=s.token('coord')), 404,
                         'not_found')
        self.assertError(s.post('/api/v1/teams/%d/disable' % s.team_id('coord'),
                                token=s.token('coord')), 400, 'invalid_field')


# ---- 8. bulk import ------------------------------------------------------------------------------

CSV_OK = ('\ufefflat,lon,category,people,vulnerable,phone,name,note,ward_code,address\r\n'
          '10.9703,106.4651,food,3,elderly;child,0909 600 001,Trần A,"Hết gạo, 2 cháu",,\r\n'
          ',,water,2,,0909 600 002,,,27508,"Ấp 3, Tổ 5"\r\n'
          '11.0305,106.4986,medical,1,,0909 600 003,,"Dòng 1\nDòng 2",,\r\n')
CSV_BAD = ('lat,lon,category,people,phone,ward_code,address\n'
           '10.9703,106.4651,food,3,0909 600 011,,\n'
           '10.9703,106.4651,pizza,3,0909 600 012,,\n'
           ',,food,1,0909 600 013,27508,\n'
           '10.3,106.9,food,1,0909 600 014,,\n'
           '10.9703,106.4651,food,1,123,,\n')


class ImportTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ())]

    def post_csv(self, text, query='', token='op'):
        return self.srv.call('POST', '/api/v1/requests/import' + query, raw=text.encode('utf-8'),
                             headers={'Content-Type': 'text/csv; charset=utf-8'},
                             token=self.srv.token(token) if token else None)

    def test_api_import_stores_every_row(self):
        s = self.srv
        before = len(s.snapshot())
        r = self.post_csv(CSV_OK, '?dry_run=true')
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['stored'], False)
        self.assertEqual(len(r.json()['accepted']), 3)
        self.assertEqual(len(s.snapshot()), before)
        r = self.post_csv(CSV_OK)
        self.assertEqual(r.status, 201, r.text)
        rep = r.json()
        self.assertEqual((rep['stored'], rep['rows'], rep['refused']), (True, 3, []))
        self.assertEqual([a['line'] for a in rep['accepted']], [2, 3, 4])
        codes = [a['code'] for a in rep['accepted']]
        got = [s.get('/api/v1/requests/%s' % c, token=s.token('coord')).json()['request']
               for c in codes]
        self.assertEqual([g['source'] for g in got], ['import'] * 3)
        self.assertEqual(got[0]['vulnerable'], ['elderly', 'child'])
        self.assertEqual(got[0]['note'], 'Hết gạo, 2 cháu')
        self.assertEqual(got[0]['ward_code'], '27496')
        self.assertEqual((got[1]['location_precision'], got[1]['ward_code'], got[1]['address']),
                         ('address', '27508', 'Ấp 3, Tổ 5'))
        self.assertEqual(got[2]['note'], 'Dòng 1\nDòng 2')
        self.assertEqual(len(s.snapshot()), before + 3)

    def test_refused_rows_store_nothing(self):
        s = self.srv
        before = s.snapshot()
        r = self.post_csv(CSV_BAD)
        self.assertEqual(r.status, 200, r.text)
        rep = r.json()
        self.assertFalse(rep['stored'])
        self.assertEqual([a['line'] for a in rep['accepted']], [2])
        refused = {x['line']: x for x in rep['refused']}
        self.assertEqual(sorted(refused), [3, 4, 5, 6])
        self.assertEqual(refused[3]['field'], 'category')
        self.assertEqual(refused[4]['field'], 'address')
        self.assertIn('outside', refused[5]['reason'])
        self.assertEqual(refused[6]['field'], 'phone')
        self.assertEqual(s.snapshot(), before)

    def test_whole_file_errors(self):
        s = self.srv
        self.assertError(self.post_csv('lat,lon,colour\n1,2,3\n'), 400, 'invalid_field')
        self.assertError(self.post_csv('lat,lon\n'), 400, 'invalid_field')
        r = s.call('POST', '/api/v1/requests/import', raw=b'lat,lon\n\xff\xfe,1\n',
                   headers={'Content-Type': 'text/csv'}, token=s.token('op'))
        self.assertError(r, 400, 'invalid_field')
        self.assertError(self.post_csv(CSV_OK, token='vol'), 403, 'forbidden')
        self.assertError(self.post_csv(CSV_OK, token=None), 401, 'unauthorized')
        # Larger than 16 KiB is fine here (up to 2 MiB); larger than 2 MiB is 413.
        rows = ''.join('10.9703,106.4651,food,1,0909 7%05d\n' % i for i in range(700))
        big = 'lat,lon,category,people,phone\n' + rows
        self.assertGreater(len(big), 16 * 1024)
        r = self.post_csv(big, '?dry_run=true')
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(len(r.json()['accepted']), 700)
        self.assertError(self.announce('/api/v1/requests/import', 2 * 1024 * 1024 + 10), 413,
                         'too_large')
        # Other routes keep their 16 KiB.
        r = s.call('POST', '/api/v1/requests', raw=b'{' + b' ' * 20000 + b'}',
                   headers={'Content-Type': 'application/json'}, token=s.token('op'))
        self.assertError(r, 413, 'too_large')

    def announce(self, path, length):
        """A POST that announces `length` bytes and sends a few: the answer."""
        conn = A.http.client.HTTPConnection('127.0.0.1', self.srv.port, timeout=30)
        try:
            conn.putrequest('POST', path)
            conn.putheader('Content-Type', 'text/csv')
            conn.putheader('Authorization', 'Bearer ' + self.srv.token('op'))
            conn.putheader('Content-Length', str(length))
            conn.endheaders()
            try:
                conn.send(b'lat,lon\n' * 100)
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = conn.getresponse()
            return A.Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def test_cli(self):
        s = self.srv
        d = tempfile.mkdtemp(prefix='hm-import-')
        try:
            good, bad = os.path.join(d, 'good.csv'), os.path.join(d, 'bad.csv')
            with open(good, 'w', encoding='utf-8') as f:
                f.write(CSV_OK.replace('0909 600 00', '0909 610 00'))
            with open(bad, 'w', encoding='utf-8') as f:
                f.write(CSV_BAD)
            before = len(s.snapshot())
            p = s.cli('import-requests', '--db', s.db, bad, check=False)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(len(json.loads(p.stdout)['refused']), 4)
            p = s.cli('import-requests', '--db', s.db, good, '--dry-run')
            self.assertEqual(json.loads(p.stdout)['stored'], False)
            p = s.cli('import-requests', '--db', s.db, good)
            rep = json.loads(p.stdout)
            self.assertTrue(rep['stored'])
            # The running server sees them (the change log).
            deadline = time.monotonic() + 5
            while len(s.snapshot()) < before + 3 and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(len(s.snapshot()), before + 3)
            code = rep['accepted'][0]['code']
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if code in feature_codes(s.get('/api/v1/requests?source=import').json()):
                    break
                time.sleep(0.2)
            self.assertIn(code, feature_codes(s.get('/api/v1/requests?source=import').json()))
            p = s.cli('import-requests', '--db', s.db, check=False)
            self.assertEqual(p.returncode, 2)
        finally:
            shutil.rmtree(d, ignore_errors=True)


# ---- 9. readable GIS layers ------------------------------------------------------------------------

class GisLayersTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('vol', 'volunteer', ())]

    def test_ogrinfo_reads_views(self):
        if A.PG:
            # PostGIS: QGIS reads the tables and the same views directly from the server.
            raise unittest.SkipTest('the SpatiaLite file (SQLite backend only)')
        ogrinfo = shutil.which('ogrinfo')
        self.assertTrue(ogrinfo, 'ogrinfo is missing: scripts/deps.sh test installs gdal-bin')
        s = self.srv
        q, _ = s.create_ok(*WARD_POINTS[0][:2], category='rescue')
        s.post('/api/v1/teams/me/location', {'lat': 11.0, 'lon': 106.5}, token=s.token('vol'))
        d = tempfile.mkdtemp(prefix='hm-gis-')
        try:
            copy = os.path.join(d, 'copy.db')
            s.cli('backup', '--db', s.db, '--out', copy)
            out = subprocess.run([ogrinfo, '-ro', '-so', '-q', copy], capture_output=True,
                                 text=True, timeout=60).stdout
            for layer, geom in (('requests_view', 'Point'), ('teams_view', 'Point'),
                                ('areas_view', 'Multi Polygon')):
                self.assertRegex(out, r'%s \(%s\)' % (layer, geom), out)
            out = subprocess.run([ogrinfo, '-ro', '-q', copy, '-sql',
                                  "SELECT code, status, category, priority, created_at FROM "
                                  "requests_view WHERE code = '%s'" % q['code']],
                                 capture_output=True, text=True, timeout=60).stdout
            self.assertIn('status (String) = new', out)
            self.assertIn('category (String) = rescue', out)
            self.assertIn('priority (String) = urgent', out)
            self.assertRegex(out, r'created_at \(String\) = \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ')
            out = subprocess.run([ogrinfo, '-ro', '-q', copy, 'teams_view'], capture_output=True,
                                 text=True, timeout=60).stdout
            self.assertRegex(out, r'POINT \(106\.5 11(\.0)?\)')
            self.assertIn('role (String) = volunteer', out)
        finally:
            shutil.rmtree(d, ignore_errors=True)


# ---- 11. smaller points ------------------------------------------------------------------------------

class SmallerTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ())]

    @classmethod
    def prepare(cls, srv):
        srv.cli('import-areas', '--db', srv.db, '--level', 'hamlet',
                os.path.join(A.DATA, A.HAMLET_FIXTURE))

    def test_nearby_next(self):
        s = self.srv
        lon, lat = WARD_POINTS[6][:2]
        made = [s.create_ok(lon + 0.0002 * i, lat)[0]['code'] for i in range(5)]
        q = '/api/v1/requests/nearby?lat=%f&lon=%f&radius_m=500&limit=3' % (lat, lon)
        fc = s.get(q, token=s.token('vol')).json()
        self.assertEqual(len(fc['features']), 3)
        self.assertEqual(fc['next'], '3')
        fc2 = s.get(q + '&cursor=' + fc['next'], token=s.token('vol')).json()
        self.assertIsNone(fc2['next'])
        seen = feature_codes(fc) + feature_codes(fc2)
        self.assertEqual(sorted(seen), sorted(made))
        d = [f['properties']['distance_m'] for f in fc['features'] + fc2['features']]
        self.assertEqual(d, sorted(d))
        self.assertError(s.get(q + '&foo=1', token=s.token('vol')), 400, 'invalid_field', 'foo')

    def test_nojs_form_offers_hamlet_names(self):
        s = self.srv
        r = s.get('/')
        html = r.text
        self.assertIn('<option value="Synthetic T01" label="Tân An Hội"></option>', html)
        self.assertIn('list="hamlet-names"', html)
        self.assertLess(len(r.body), 30 * 1024)
        # A name typed (any case, no diacritics) finds the hamlet; a code too; an unknown name
        # stays in the address.
        for typed, want, addr in (('synthetic t02', '27496-T02', 'số 3'),
                                  ('27496-T01', '27496-T01', 'số 3'),
                                  ('Ấp Không Có', None, 'số 3, Ấp Không Có')):
            with self.subTest(typed=typed):
                r = s.call('POST', '/report', raw=urllib.parse.urlencode({
                    'ward_code': '27496', 'hamlet_code': typed, 'address': 'số 3',
                    'category': 'food', 'people': '2', 'phone': fresh_phone()}).encode(),
                    headers={'Content-Type': 'application/x-www-form-urlencoded'})
                self.assertEqual(r.status, 201, r.text)
                code = A.CODE_IN_TEXT_RE.search(r.text).group(0)
                got = s.get('/api/v1/requests/%s' % code, token=s.token('coord')).json()
                self.assertEqual(got['request']['hamlet_code'], want)
                self.assertEqual(got['request']['address'], addr)

    def test_form_multipart_and_413_are_html(self):
        s = self.srv
        body = (b'--XX\r\nContent-Disposition: form-data; name="ward_code"\r\n\r\n27496\r\n'
                b'--XX--\r\n')
        r = s.call('POST', '/report', raw=body,
                   headers={'Content-Type': 'multipart/form-data; boundary=XX'})
        self.assertEqual(r.status, 415)
        self.assertTrue(r.headers['content-type'].startswith('text/html'))
        self.assertIn('application/x-www-form-urlencoded', r.text)
        self.assertNotIn('choose a commune', r.text)
        r = s.call('POST', '/report', raw=b'note=' + b'a' * 20000,
                   headers={'Content-Type': 'application/x-www-form-urlencoded'})
        self.assertEqual(r.status, 413)
        self.assertTrue(r.headers['content-type'].startswith('text/html'), r.headers)
        self.assertIn('<html', r.text)

    def test_operator_sources(self):
        s = self.srv
        lon, lat = WARD_POINTS[1][:2]
        for src in ('web', 'import'):
            self.assertError(s.create(lon, lat, token=s.token('op'), source=src), 400,
                             'invalid_field', 'source')
        q, _ = s.create_ok(lon, lat, token=s.token('op'), source='hotline')
        self.assertEqual(q['source'], 'hotline')

    def test_verify_outcomes(self):
        s = self.srv
        q, _ = s.create_ok(*WARD_POINTS[2][:2])
        path = '/api/v1/requests/%s/verify' % q['code']
        r = s.post(path, {'verified': False, 'outcome': 'unreachable', 'note': 'gọi 3 lần'},
                   token=s.token('op'))
        self.assertEqual(r.status, 200, r.text)
        self.assertFalse(r.json()['request']['verified'])
        r = s.post(path, {'verified': True, 'outcome': 'reached'}, token=s.token('op'))
        self.assertTrue(r.json()['request']['verified'])
        h = hist(s.get('/api/v1/requests/%s' % q['code'], token=s.token('coord')).json()
                 ['request'], 'verify')
        self.assertEqual([(x['field'], x['new'], x['note']) for x in h],
                         [('outcome', 'unreachable', 'gọi 3 lần'),
                          ('outcome', 'reached', 'verified by call-back')])
        for body, field in (({'outcome': 'maybe'}, 'outcome'), ({'verified': 'yes'}, 'verified'),
                            ({'colour': 1}, 'colour')):
            self.assertError(s.post(path, body, token=s.token('op')), 400, 'invalid_field', field)
        self.assertEqual(s.post(path, token=s.token('op')).status, 200)  # no body: verified


class CarrierNatTest(A.ServerTest):
    """200 residents behind one carrier address, each with their own phone, within a minute: with
    the defaults (10 a minute per device, 300 per address) every one gets through; one phone
    cannot go past its device's 10; the address ceiling still holds."""
    SERVE_ARGS = ('--rate-limit', '10', '--phone-rate-limit', '0')

    def test_200_phones_behind_one_address(self):
        s = self.srv
        codes = []
        refused = 0
        for i in range(200):
            lon, lat = WARD_POINTS[i % 7][:2]
            r = s.create(lon + 0.00001 * i, lat, phone='0918%06d' % (i + 1))
            if r.status == 201:
                codes.append(r.json()['request']['code'])
            else:
                self.assertError(r, 429, 'rate_limited')
                refused += 1
        print('carrier NAT: 200 residents behind one address: %d accepted, %d refused' %
              (len(codes), refused), file=sys.stderr)
        self.assertEqual(refused, 0)
        phone = '0918999999'
        got = [s.create(WARD_POINTS[0][0] + 0.001 * k, WARD_POINTS[0][1], phone=phone,
                        category=A.CAT[k % 7]).status for k in range(11)]
        self.assertEqual(got[:10], [201] * 10)
        self.assertEqual(got[10], 429)


class AddressCeilingTest(A.ServerTest):
    SERVE_ARGS = ('--rate-limit', '10', '--address-rate-limit', '20', '--phone-rate-limit', '0')

    def test_address_ceiling(self):
        s = self.srv
        got = [s.create(WARD_POINTS[i % 7][0] + 0.00001 * i, WARD_POINTS[i % 7][1],
                        phone='0917%06d' % i).status for i in range(25)]
        self.assertEqual(got.count(201), 20)
        r = s.create(*WARD_POINTS[0][:2])
        self.assertError(r, 429, 'rate_limited', None)
        self.assertGreater(int(r.headers['retry-after']), 0)


def main():
    ap = A.argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', required=True)
    ap.add_argument('--web', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--pg', action='store_true',
                    help='PostGIS databases on the server of $HM_TEST_PG_URI instead of files')
    args, rest = ap.parse_known_args()
    A.BIN = os.path.abspath(args.bin)
    A.WEB = os.path.abspath(args.web)
    A.DATA = os.path.abspath(args.data)
    if args.pg:
        if not os.environ.get('HM_TEST_PG_URI'):
            print('test_field: skipped: --pg without HM_TEST_PG_URI (run it under scripts/pg.sh '
                  'run)', file=sys.stderr)
            sys.exit(77)
        A.PG = A.PgServer(os.environ['HM_TEST_PG_URI'])
    try:
        prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    finally:
        if A.PG:
            A.PG.close()
    sys.exit(0 if prog.result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
