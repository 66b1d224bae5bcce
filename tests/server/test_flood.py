#!/usr/bin/python3
"""test_flood.py: what Vietnam's 2024-2025 flood maps taught (issue 19), over HTTP.

Report for someone else (`reporter`), paste a location (`location_text`, GET /geo/parse),
"I am safe now" (POST /requests/{code}/safe) and relief points (/points, the points tiles,
point.* events, several servers on one database). The harness is api_test.py's: each class
starts the real `helpmap serve` on 127.0.0.1 with a temporary database.

Run by ctest as
    python3 tests/server/test_flood.py --bin BUILD/helpmap --web WEB --data tests/data [--pg]
(--pg: PostGIS databases on the server of $HM_TEST_PG_URI, as api_test.py's --pg).
"""
import argparse
import csv
import io
import json
import math
import os
import random
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import api_test as A  # noqa: E402

FORM = {'Content-Type': 'application/x-www-form-urlencoded'}
# Xã Nhuận Đức (27511), a point well inside it, and the same place as a link.
HOME = (106.4962, 11.0392)
HOME_LINK = 'https://www.google.com/maps?q=11.0392,106.4962'
BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069']


def parse_url(text):
    return '/api/v1/geo/parse?text=' + urllib.parse.quote(text, safe='')


def report_form(srv, fields):
    return srv.post('/report', raw=urllib.parse.urlencode(fields).encode(), headers=FORM)


def code_and_token(html):
    code = A.CODE_IN_TEXT_RE.search(html).group(0)
    tok = html.split('token=')[1][:32]
    return code, tok


# ---- report for someone else -------------------------------------------------------------------

class ReporterTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ()),
             ('vol2', 'volunteer', ())]
    REPORTER = {'name': 'Chị Lan (con gái)', 'phone': '0912 000 111'}

    def create_for_other(self, **extra):
        body = {'lat': HOME[1], 'lon': HOME[0], 'category': 'food', 'people': 2,
                'phone': A.fresh_phone(), 'reporter': dict(self.REPORTER),
                'note': 'hai cháu nhỏ, không có đồ ăn từ sáng'}
        body.update(extra)
        r = self.srv.post('/api/v1/requests', body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()['request'], r.json()['token']

    def test_reporter_is_contact_data(self):
        srv = self.srv
        q, tok = self.create_for_other()
        self.assertEqual(q['reporter'], {'name': 'Chị Lan (con gái)', 'phone': '+84912000111'})
        # The resident with the token, operators and coordinators see it.
        self.assertEqual(srv.resident_get(q['code'], tok)['reporter']['phone'], '+84912000111')
        for who in ('op', 'coord'):
            got = srv.get('/api/v1/requests/' + q['code'], token=srv.token(who)).json()['request']
            self.assertEqual(got['reporter']['phone'], '+84912000111', who)
        # The public and a team that does not hold it do not.
        self.assertError(srv.get('/api/v1/requests/' + q['code']), 404, 'not_found')
        got = srv.get('/api/v1/requests/' + q['code'], token=srv.token('vol2')).json()['request']
        self.assertNotIn('reporter', got)
        self.assertNoContact(got)
        for f in srv.list_all()['features']:
            self.assertNotIn('reporter', f['properties'])
        near = srv.get('/api/v1/requests/nearby?lat=%r&lon=%r' % (HOME[1], HOME[0]),
                       token=srv.token('vol2'))
        self.assertNotIn(b'912000111', near.body)

    def test_holding_team_sees_both_numbers_person_first(self):
        srv = self.srv
        q, _ = self.create_for_other(category='rescue')
        self.assertEqual(srv.post('/api/v1/requests/%s/claim' % q['code'],
                                  token=srv.token('vol')).status, 200)
        r = srv.get('/api/v1/requests/' + q['code'], token=srv.token('vol'))
        got = r.json()['request']
        self.assertEqual(got['phone'], q['phone'])
        self.assertEqual(got['reporter'], {'name': 'Chị Lan (con gái)', 'phone': '+84912000111'})
        # The person in need's number comes first in what the team reads.
        self.assertLess(r.text.index(q['phone']), r.text.index('+84912000111'))
        kinds = [h['kind'] for h in got['history']]
        self.assertIn('reveal', kinds)

    def test_reporter_validation(self):
        cases = [
            ({'reporter': 'Chị Lan'}, 'reporter'),
            ({'reporter': ['0912000111']}, 'reporter'),
            ({'reporter': {}}, 'reporter.phone'),
            ({'reporter': {'name': 'Lan'}}, 'reporter.phone'),
            ({'reporter': {'phone': '12ab'}}, 'reporter.phone'),
            ({'reporter': {'phone': 12345678}}, 'reporter.phone'),
            ({'reporter': {'phone': '0912000111', 'name': 'x' * 101}}, 'reporter.name'),
            ({'reporter': {'phone': '0912000111', 'name': 7}}, 'reporter.name'),
        ]
        before = self.srv.snapshot()
        for extra, field in cases:
            with self.subTest(extra=extra):
                body = {'lat': HOME[1], 'lon': HOME[0], 'category': 'food',
                        'phone': A.fresh_phone()}
                body.update(extra)
                self.assertError(self.srv.post('/api/v1/requests', body), 400, 'invalid_field',
                                 field)
        self.assertEqual(self.srv.snapshot(), before)
        # Without a reporter, the answer says so.
        q, _ = self.srv.create_ok(*HOME)
        self.assertIsNone(self.srv.resident_get(q['code'], _)['reporter'])

    def test_duplicate_rule_uses_the_person_in_needs_phone(self):
        srv, op = self.srv, self.srv.token('op')
        reporter = {'phone': '0933 000 222'}
        lon, lat = A.WARD_POINTS[3][:2]
        # One relative reports for two households at the same place: two requests.
        r1 = srv.create(lon, lat, category='water', token=op, reporter=reporter)
        r2 = srv.create(lon, lat, category='water', token=op, reporter=reporter)
        self.assertEqual((r1.status, r2.status), (201, 201), (r1.text, r2.text))
        self.assertNotEqual(r1.json()['request']['code'], r2.json()['request']['code'])
        # Two relatives report for the same person: one request, the second a repeat.
        person = A.fresh_phone()
        r3 = srv.create(lon, lat, category='medical', token=op, phone=person,
                        reporter={'phone': '0933 000 333'})
        r4 = srv.create(lon, lat, category='medical', token=op, phone=person,
                        reporter={'phone': '0933 000 444'})
        self.assertEqual(r3.status, 201, r3.text)
        self.assertEqual(r4.status, 200, r4.text)
        self.assertTrue(r4.json()['duplicate'])
        self.assertEqual(r4.json()['request']['code'], r3.json()['request']['code'])

    def test_no_js_form_and_operator_desk(self):
        srv = self.srv
        r = report_form(srv, {'ward_code': '27508', 'address': 'Số 7, ấp Chợ', 'category': 'water',
                              'people': '4', 'phone': '0987 654 001', 'reporter_name': 'Anh Tư',
                              'reporter_phone': '0987 654 002'})
        self.assertEqual(r.status, 201, r.text)
        code, tok = code_and_token(r.text)
        q = srv.resident_get(code, tok)
        self.assertEqual(q['phone'], '+84987654001')
        self.assertEqual(q['reporter'], {'name': 'Anh Tư', 'phone': '+84987654002'})
        # Only a name: the reporter's number is asked for.
        r = report_form(srv, {'ward_code': '27508', 'address': 'x', 'category': 'water',
                              'people': '1', 'phone': '0987 654 003', 'reporter_name': 'Anh Tư'})
        self.assertEqual(r.status, 400, r.text)
        self.assertIn('người báo giúp', r.text)
        # Empty reporter fields (the switch left off): no reporter.
        r = report_form(srv, {'ward_code': '27508', 'address': 'x', 'category': 'water',
                              'people': '1', 'phone': '0987 654 004', 'reporter_name': '',
                              'reporter_phone': ''})
        self.assertEqual(r.status, 201, r.text)
        self.assertIsNone(srv.resident_get(*code_and_token(r.text))['reporter'])
        # The hotline desk takes a call from a relative.
        r = srv.create(*HOME, token=srv.token('op'), reporter={'phone': '0987 654 005'})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json()['request']['source'], 'hotline')
        self.assertEqual(r.json()['request']['reporter']['phone'], '+84987654005')

    def test_export_and_purge(self):
        srv, coord = self.srv, self.srv.token('coord')
        q, tok = self.create_for_other(location_text=None)
        q2 = srv.post('/api/v1/requests', {
            'location_text': HOME_LINK, 'category': 'shelter', 'phone': A.fresh_phone(),
            'reporter': {'name': 'Bác Ba', 'phone': '0977 000 999'}}).json()['request']
        r = srv.get('/api/v1/export?format=csv', token=coord)
        rows = list(csv.reader(io.StringIO(r.body.decode('utf-8-sig'), newline='')))
        head = rows[0]
        for k in ('reporter_name', 'reporter_phone', 'location_text'):
            self.assertIn(k, head)
        by = {row[head.index('code')]: dict(zip(head, row)) for row in rows[1:]}
        self.assertEqual(by[q['code']]['reporter_phone'], '+84912000111')
        self.assertEqual(by[q['code']]['reporter_name'], 'Chị Lan (con gái)')
        self.assertEqual(by[q2['code']]['location_text'], HOME_LINK)
        self.assertEqual(by[q2['code']]['location_precision'], 'link')
        fc = json.loads(srv.get('/api/v1/export?format=geojson', token=coord).body)
        props = {f['properties']['code']: f['properties'] for f in fc['features']}
        self.assertEqual(props[q2['code']]['reporter'], {'name': 'Bác Ba', 'phone': '+84977000999'})
        # Closed requests lose their reporter and pasted text with the other contact data.
        for code in (q['code'], q2['code']):
            self.assertEqual(srv.post('/api/v1/requests/%s/cancel' % code, token=coord).status,
                             200)
        time.sleep(0.01)
        srv.cli('purge', '--db', srv.db, '--older-than', '0')
        for code in (q['code'], q2['code']):
            got = srv.get('/api/v1/requests/' + code, token=coord).json()['request']
            self.assertIsNone(got['reporter'], code)
            self.assertIsNone(got['location_text'], code)
            self.assertIsNone(got['phone'], code)


class ReporterQuotaTest(A.ServerTest):
    """The per-phone quota counts the person in need's phone, not the reporter's."""
    SERVE_ARGS = ('--phone-rate-limit', '2')

    def test_quota_is_per_person_in_need(self):
        srv = self.srv
        relative = {'phone': '0944 111 222'}
        cats = ['food', 'water', 'medical', 'cash']
        for i, cat in enumerate(cats):
            r = srv.create(*A.WARD_POINTS[i][:2], category=cat, reporter=relative)
            self.assertEqual(r.status, 201, r.text)
        person = A.fresh_phone()
        statuses = [srv.create(*A.WARD_POINTS[i][:2], category=cat, phone=person,
                               reporter={'phone': '0944 111 %03d' % i}).status
                    for i, cat in enumerate(cats[:3])]
        self.assertEqual(statuses, [201, 201, 429])


class ReporterPrivacyTest(A.ServerTest):
    """The reporter's name and phone and the pasted text reach no event, tile, public answer
    or log line."""
    TEAMS = [('coord', 'coordinator', ()), ('vol', 'volunteer', ())]
    SECRETS = ['912777888', 'Người Báo Bí Mật', 'NHA-BA-TU-BI-MAT']

    def test_nothing_leaks(self):
        srv = self.srv
        public, team = A.SSE(srv), A.SSE(srv, token=srv.token('vol'))
        try:
            text = 'NHA-BA-TU-BI-MAT ' + HOME_LINK
            r = srv.post('/api/v1/requests', {
                'location_text': text, 'category': 'rescue', 'phone': A.fresh_phone(),
                'reporter': {'name': 'Người Báo Bí Mật', 'phone': '0912 777 888'}})
            self.assertEqual(r.status, 201, r.text)
            q, tok = r.json()['request'], r.json()['token']
            self.assertEqual(q['location_text'], text)
            self.assertEqual(srv.post('/api/v1/requests/%s/safe?token=%s' % (q['code'], tok))
                             .status, 200)
            self.assertIsNotNone(public.wait(lambda e: e.get('event') == 'request.updated' and
                                             e['data'].get('code') == q['code']))
            self.assertIsNotNone(team.wait(A.created(q['code'])))
            bodies = [srv.get(p).body for p in (
                '/api/v1/requests?status=all', '/api/v1/stats', '/api/v1/areas?level=ward',
                '/api/v1/requests/' + q['code'])]
            for z in range(10, 17):
                x, y = A.tile_xy(HOME[0], HOME[1], z)
                bodies.append(srv.get('/tiles/requests/%d/%d/%d.mvt?status=all' % (z, x, y)).body)
            for b in bodies + [public.text().encode(), team.text().encode()]:
                for s in self.SECRETS:
                    self.assertNotIn(s.encode(), b)
            for e in public.snapshot() + team.snapshot():
                self.assertNotIn('reporter', e['data'])
                self.assertNotIn('location_text', e['data'])
        finally:
            public.close()
            team.close()
        self.assertEqual(srv.stop(), 0)
        log = srv.read_log()
        self.assertIn('event=access', log)
        for s in self.SECRETS + [tok]:
            self.assertNotIn(s, log)
        srv.start(*self.SERVE_ARGS)


# ---- paste a location -----------------------------------------------------------------------------

# (text, lat, lon, form): every accepted form of geodata/locparse.h that a resident pastes.
ACCEPTED = [
    ('https://www.google.com/maps?q=10.9935,106.4921', 10.9935, 106.4921, 'google'),
    ('https://maps.google.com/?q=loc:10.9935,106.4921', 10.9935, 106.4921, 'google'),
    ('https://www.google.com.vn/maps/place/Ch%E1%BB%A3+C%E1%BB%A7+Chi/@10.9735,106.4721,17z/'
     'data=!3m1!4b1!4m6!3m5!1s0x0:0x1!8m2!3d10.9935!4d106.4921', 10.9935, 106.4921, 'google'),
    ('https://www.google.com/maps/@10.9935,106.4921,15z', 10.9935, 106.4921, 'google'),
    ('https://www.google.com/maps/search/10.9935,+106.4921', 10.9935, 106.4921, 'google'),
    ('https://www.google.com/maps/dir//10.9935,106.4921', 10.9935, 106.4921, 'google'),
    ('https://www.openstreetmap.org/?mlat=10.9935&mlon=106.4921#map=17/10.99/106.49', 10.9935,
     106.4921, 'osm'),
    ('https://www.openstreetmap.org/#map=17/10.9935/106.4921', 10.9935, 106.4921, 'osm'),
    ('https://maps.apple.com/?ll=10.9935,106.4921&q=Nh%C3%A0', 10.9935, 106.4921, 'apple'),
    ('geo:10.9935,106.4921?z=17', 10.9935, 106.4921, 'geo'),
    ('geo:0,0?q=10.9935,106.4921(Nhà bà Tư)', 10.9935, 106.4921, 'geo'),
    ('10.9935, 106.4921', 10.9935, 106.4921, 'decimal'),
    ('  10.9935 106.4921  ', 10.9935, 106.4921, 'decimal'),
    ('Toạ độ: 10.9935, 106.4921', 10.9935, 106.4921, 'decimal'),
    ('10,9935 106,4921', 10.9935, 106.4921, 'decimal'),
    ('106.4921 E, 10.9935 N', 10.9935, 106.4921, 'decimal'),
    ('10°59\'36.6"N 106°29\'31.6"E', 10 + 59 / 60 + 36.6 / 3600, 106 + 29 / 60 + 31.6 / 3600,
     'dms'),
    ('10°59.61\'N 106°29.526\'E', 10.9935, 106.4921, 'dms'),
    ('Nhà em ở đây https://www.google.com/maps?q=10.9935,106.4921 cứu với', 10.9935, 106.4921,
     'google'),
]

# (text, a word of the message): refused, with what to do instead.
REFUSED = [
    ('https://goo.gl/maps/abc123', 'long link'),
    ('https://maps.app.goo.gl/xyz', 'long link'),
    ('', 'paste'),
    ('   ', 'paste'),
    ('nhà bà Tư gần chợ', 'no coordinates'),
    ('https://www.google.com/maps/place/Ch%E1%BB%A3', 'no coordinates'),
    ('https://example.com/?q=10.99,106.49', 'not understood'),
    ('95.0, 106.0', 'latitude'),
    ('106.4921, 10.9935', 'latitude first'),
    ('geo:0,0', 'no coordinates'),
    ('10°60\'00"N 106°29\'31"E', 'minutes'),
    ('nan, inf', 'no coordinates'),
    ('10,99,106,49', 'point'),
    ('x' * 3000, '2048'),
]


class PasteLocationTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ())]

    def test_geo_parse_accepted_forms(self):
        for text, lat, lon, form in ACCEPTED:
            with self.subTest(text=text):
                r = self.srv.get(parse_url(text))
                self.assertEqual(r.status, 200, r.text)
                j = r.json()
                self.assertEqual(set(j), {'lat', 'lon', 'form', 'ward_code', 'inside'}, j)
                self.assertAlmostEqual(j['lat'], lat, delta=1e-6)
                self.assertAlmostEqual(j['lon'], lon, delta=1e-6)
                self.assertEqual(j['form'], form)
                self.assertEqual((j['ward_code'], j['inside']), ('27496', True))

    def test_geo_parse_refused_forms(self):
        for text, word in REFUSED:
            with self.subTest(text=text[:60]):
                e = self.assertError(self.srv.get(parse_url(text)), 400, 'invalid_field', 'text')
                self.assertIn(word, e['message'])
                if text.strip():  # the message never quotes what was pasted
                    self.assertNotIn(text.strip()[:12], e['message'])
        self.assertError(self.srv.get('/api/v1/geo/parse'), 400, 'invalid_field', 'text')

    def test_geo_parse_outside_and_inside(self):
        j = self.srv.get(parse_url('10.77, 106.70')).json()
        self.assertEqual((j['inside'], j['ward_code']), (False, None))
        for lon, lat, ward, _ in A.WARD_POINTS:
            j = self.srv.get(parse_url('geo:%r,%r' % (lat, lon))).json()
            self.assertEqual((j['inside'], j['ward_code']), (True, ward))

    def test_property_every_decimal_pair_in_every_link_style(self):
        # A few hundred random pairs (seeded), formatted with 0 to 7 decimals in each link style,
        # parse back through the HTTP API to within 1e-6 degree.
        styles = {
            'google': ['https://www.google.com/maps?q={lat},{lon}',
                       'https://www.google.com/maps/@{lat},{lon},15z',
                       'https://www.google.com/maps/place/Nh%C3%A0/@{lat},{lon},17z/data=!3m1!4b1',
                       'https://www.google.com/maps/search/{lat},+{lon}'],
            'osm': ['https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}',
                    'https://www.openstreetmap.org/#map=16/{lat}/{lon}'],
            'apple': ['https://maps.apple.com/?ll={lat},{lon}&q=Pin'],
            'geo': ['geo:{lat},{lon}'],
            'decimal': ['{lat}, {lon}', '{lat} {lon}'],
        }
        rng = random.Random(19)
        done = 0
        for _ in range(300):
            d = rng.randint(0, 7)
            lat = '%.*f' % (d, rng.uniform(-90, 90))
            lon = '%.*f' % (d, rng.uniform(-180, 180))
            want = (float(lat), float(lon))
            for form, patterns in styles.items():
                for pat in patterns:
                    if form == 'geo' and want == (0.0, 0.0):
                        continue  # geo:0,0 is Android's "no position"
                    text = pat.format(lat=lat, lon=lon)
                    r = self.srv.get(parse_url(text))
                    self.assertEqual(r.status, 200, (text, r.text))
                    j = r.json()
                    self.assertLessEqual(abs(j['lat'] - want[0]), 1e-6, text)
                    self.assertLessEqual(abs(j['lon'] - want[1]), 1e-6, text)
                    self.assertEqual(j['form'], form, text)
                    done += 1
        self.assertGreaterEqual(done, 2999)

    def test_location_text_places_a_request(self):
        srv = self.srv
        for text, lat, lon, form in ACCEPTED[:12]:
            with self.subTest(text=text):
                r = srv.post('/api/v1/requests', {'location_text': text, 'category': 'rescue',
                                                  'phone': A.fresh_phone(), 'people': 5})
                self.assertEqual(r.status, 201, r.text)
                q = r.json()['request']
                self.assertEqual(q['location_precision'], 'link')
                self.assertAlmostEqual(q['lat'], lat, delta=1e-6)
                self.assertAlmostEqual(q['lon'], lon, delta=1e-6)
                self.assertEqual(q['ward_code'], '27496')
                self.assertEqual(q['location_text'], text.strip())
                pub = [f['properties'] for f in srv.list_all()['features']
                       if f['properties']['code'] == q['code']][0]
                self.assertEqual(pub['location_precision'], 'link')
                self.assertNotIn('location_text', pub)

    def test_location_text_errors(self):
        srv = self.srv
        before = srv.snapshot()
        base = {'category': 'food', 'phone': A.fresh_phone()}
        for text, word in REFUSED:
            with self.subTest(text=text[:60]):
                r = srv.post('/api/v1/requests', dict(base, location_text=text))
                if not text.strip():
                    # Blank is no location_text, as with every optional text field.
                    self.assertError(r, 400, 'invalid_field', 'lat')
                    continue
                e = self.assertError(r, 400, 'invalid_field', 'location_text')
                self.assertIn(word, e['message'])
        # Blank beside lat/lon is ignored.
        r = srv.post('/api/v1/requests', dict(base, location_text='  ', lat=HOME[1], lon=HOME[0]))
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json()['request']['location_precision'], 'gps')
        self.assertIsNone(r.json()['request']['location_text'])
        before = srv.snapshot()
        for extra in ({'location_text': 7}, {'location_text': ['x']},
                      {'location_text': HOME_LINK, 'lat': HOME[1], 'lon': HOME[0]},
                      {'location_text': HOME_LINK, 'lat': HOME[1]},
                      {'location_text': HOME_LINK, 'ward_code': '27511', 'address': 'x'},
                      {'lat': HOME[1], 'lon': HOME[0], 'location_precision': 'link'}):
            with self.subTest(extra=extra):
                e = self.assertError(srv.post('/api/v1/requests', dict(base, **extra)), 400,
                                     'invalid_field')
                self.assertIn(e['field'], ('location_text', 'location_precision'))
        # A parsed point outside the service area.
        e = self.assertError(srv.post('/api/v1/requests', dict(
            base, location_text='https://www.google.com/maps?q=10.7769,106.7009')),
            422, 'outside_service_area', 'location_text')
        self.assertEqual(srv.snapshot(), before)

    def test_no_js_form_and_operator_desk_take_a_pasted_link(self):
        srv = self.srv
        # The plain form: a link beside a commune picked out of habit; the link wins.
        r = report_form(srv, {'ward_code': '27508', 'location_text': HOME_LINK, 'address': '',
                              'category': 'medical', 'people': '2', 'phone': '0987 111 001'})
        self.assertEqual(r.status, 201, r.text)
        q = srv.resident_get(*code_and_token(r.text))
        self.assertEqual((q['location_precision'], q['ward_code']), ('link', '27511'))
        self.assertAlmostEqual(q['lat'], HOME[1], delta=1e-6)
        self.assertEqual(q['location_text'], HOME_LINK)
        # A short link: the form says what to do, in Vietnamese first.
        r = report_form(srv, {'ward_code': '27508', 'location_text': 'https://maps.app.goo.gl/x',
                              'category': 'medical', 'people': '2', 'phone': '0987 111 002'})
        self.assertEqual(r.status, 400)
        self.assertTrue(r.headers['content-type'].startswith('text/html'))
        self.assertIn('liên kết', r.text)
        self.assertIn('long link', r.text)
        # Outside the area.
        r = report_form(srv, {'location_text': '10.7769, 106.7009', 'category': 'food',
                              'people': '1', 'phone': '0987 111 003'})
        self.assertEqual(r.status, 422)
        self.assertIn('ngoài khu vực', r.text)
        # The hotline desk.
        r = srv.post('/api/v1/requests', {'location_text': 'geo:11.0392,106.4962', 'category':
                                          'water', 'phone': A.fresh_phone()},
                     token=srv.token('op'))
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual((r.json()['request']['source'], r.json()['request']['location_precision']),
                         ('hotline', 'link'))


# ---- "I am safe now" ------------------------------------------------------------------------------

class CsvImportTest(A.ServerTest):
    """A hotline's list: rows with a pasted link and a reporter, as the JSON API takes them."""
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ())]

    def test_csv_rows_take_a_pasted_link_and_a_reporter(self):
        srv = self.srv
        text, lat, lon, _ = ACCEPTED[0]
        person, reporter = A.fresh_phone(), A.fresh_phone()
        csv = ('location_text,category,people,phone,reporter_name,reporter_phone,note\n'
               '"%s",rescue,3,%s,Anh Minh (hàng xóm),%s,nước ngập tới cổ\n'
               '"https://goo.gl/maps/abc",food,1,%s,,,\n'
               % (text.replace('"', '""'), person, reporter, A.fresh_phone()))
        r = srv.call('POST', '/api/v1/requests/import', raw=csv.encode('utf-8'),
                     headers={'Content-Type': 'text/csv; charset=utf-8'}, token=srv.token('op'))
        self.assertEqual(r.status, 200, r.text)
        rep = r.json()
        # The short link needs the internet: that row is refused, so nothing is stored.
        self.assertFalse(rep['stored'])
        self.assertEqual([x['line'] for x in rep['refused']], [3])
        self.assertEqual(rep['refused'][0]['field'], 'location_text')
        csv = csv.split('\n')
        r = srv.call('POST', '/api/v1/requests/import',
                     raw=('\n'.join(csv[:2]) + '\n').encode('utf-8'),
                     headers={'Content-Type': 'text/csv; charset=utf-8'}, token=srv.token('op'))
        self.assertEqual(r.status, 201, r.text)
        code = r.json()['accepted'][0]['code']
        q = srv.get('/api/v1/requests/' + code, token=srv.token('coord')).json()['request']
        self.assertEqual(q['location_precision'], 'link')
        self.assertAlmostEqual(q['lat'], lat, delta=1e-6)
        self.assertAlmostEqual(q['lon'], lon, delta=1e-6)
        self.assertEqual(q['reporter']['name'], 'Anh Minh (hàng xóm)')
        self.assertEqual(q['reporter']['phone'][-9:], reporter.replace(' ', '')[-9:])
        self.assertEqual(q['source'], 'import')


class SafeTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ()),
             ('vol2', 'volunteer', ())]

    def ward_safe(self, ward):
        st = self.srv.get('/api/v1/stats').json()
        return st['safe'], {w['code']: w['safe'] for w in st['wards']}.get(ward)

    def results_safe(self, ward):
        """The public results' safe check-ins: the district's, the ward's, and the page's
        district figure."""
        res = self.srv.get('/api/v1/results').json()
        page = self.srv.get('/results').text
        shown = page.split('Marked themselves safe')[1].split('<dd>')[1].split('<')[0]
        return (res['district']['safe'], {w['code']: w['safe'] for w in res['wards']}[ward],
                int(shown))

    def test_resident_says_safe(self):
        srv = self.srv
        lon, lat, ward, _ = A.WARD_POINTS[2]
        total0, ward0 = self.ward_safe(ward)
        res0 = self.results_safe(ward)
        q, tok = srv.create_ok(lon, lat, category='rescue')
        # A wrong token, no token, a volunteer: refused, nothing changes.
        self.assertError(srv.post('/api/v1/requests/%s/safe?token=%s' % (q['code'], 'a' * 32)),
                         404, 'not_found')
        self.assertError(srv.post('/api/v1/requests/%s/safe' % q['code']), 404, 'not_found')
        self.assertError(srv.post('/api/v1/requests/%s/safe' % q['code'],
                                  token=srv.token('vol')), 403, 'forbidden')
        self.assertError(srv.post('/api/v1/requests/CC-000000/safe?token=' + tok), 404,
                         'not_found')
        self.assertEqual(srv.resident_get(q['code'], tok)['status'], 'new')
        r = srv.post('/api/v1/requests/%s/safe?token=%s' % (q['code'], tok),
                     {'note': 'nước rút rồi, cả nhà an toàn'})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['request']['status'], 'cancelled')
        got = srv.resident_get(q['code'], tok)
        last = got['history'][-1]
        self.assertEqual((last['kind'], last['from'], last['to'], last['actor']),
                         ('safe', 'new', 'cancelled', 'resident'))
        self.assertEqual(last['note'], 'nước rút rồi, cả nhà an toàn')
        self.assertEqual(self.ward_safe(ward), (total0 + 1, (ward0 or 0) + 1))
        # /results counts the check-in too (district, commune, the page's figure).
        self.assertEqual(self.results_safe(ward), (res0[0] + 1, res0[1] + 1, res0[2] + 1))
        # Only from an open status.
        self.assertError(srv.post('/api/v1/requests/%s/safe?token=%s' % (q['code'], tok)), 409,
                         'invalid_transition')
        self.assertEqual(self.ward_safe(ward), (total0 + 1, (ward0 or 0) + 1))

    def test_resolved_stays_resolved(self):
        srv = self.srv
        q, tok = srv.create_ok(*A.WARD_POINTS[4][:2])
        vol = srv.token('vol')
        for path, body in (('claim', None), ('status', {'status': 'in_progress'}),
                           ('status', {'status': 'resolved'})):
            self.assertEqual(srv.post('/api/v1/requests/%s/%s' % (q['code'], path), body,
                                      token=vol).status, 200)
        self.assertError(srv.post('/api/v1/requests/%s/safe?token=%s' % (q['code'], tok)), 409,
                         'invalid_transition')
        self.assertEqual(srv.resident_get(q['code'], tok)['status'], 'resolved')

    def test_operator_on_a_call(self):
        srv = self.srv
        for who in ('op', 'coord'):
            q, tok = srv.create_ok(*A.WARD_POINTS[5][:2])
            r = srv.post('/api/v1/requests/%s/safe' % q['code'], token=srv.token(who))
            self.assertEqual(r.status, 200, r.text)
            last = srv.resident_get(q['code'], tok)['history'][-1]
            self.assertEqual((last['kind'], last['actor']), ('safe', who))

    def test_holding_team_is_told_and_the_request_leaves_its_queue(self):
        srv = self.srv
        lon, lat = A.WARD_POINTS[1][:2]
        holder, other = A.SSE(srv, token=srv.token('vol')), A.SSE(srv, token=srv.token('vol2'))
        coord = A.SSE(srv, token=srv.token('coord'))
        try:
            q, tok = srv.create_ok(lon, lat, category='rescue')
            self.assertEqual(srv.post('/api/v1/requests/%s/claim' % q['code'],
                                      token=srv.token('vol')).status, 200)
            self.assertEqual(srv.post('/api/v1/requests/%s/status' % q['code'],
                                      {'status': 'in_progress'}, token=srv.token('vol')).status,
                             200)
            self.assertEqual(srv.post('/api/v1/requests/%s/safe?token=%s' % (q['code'], tok))
                             .status, 200)

            def safe_event(e):
                return e.get('event') == 'request.safe' and e['data'].get('code') == q['code']
            e = holder.wait(safe_event)
            self.assertIsNotNone(e, holder.text()[-2000:])
            self.assertEqual(e['data']['status'], 'cancelled')
            self.assertNoContact(e['data'])
            self.assertIsNotNone(coord.wait(safe_event))
            # The other team gets the update but not the notice.
            self.assertIsNotNone(other.wait(lambda e: e.get('event') == 'request.updated' and
                                            e['data'].get('code') == q['code'] and
                                            e['data'].get('status') == 'cancelled'))
            self.assertIsNone(other.wait(safe_event, timeout=1))
            # Its queue: nearby lists open requests only.
            near = srv.get('/api/v1/requests/nearby?lat=%r&lon=%r' % (lat, lon),
                           token=srv.token('vol')).json()
            self.assertNotIn(q['code'], A.feature_codes(near))
            # The holding team stays on record and is free again.
            got = srv.get('/api/v1/requests/' + q['code'], token=srv.token('coord')).json()
            self.assertEqual(got['request']['team_id'], srv.team_id('vol'))
        finally:
            holder.close()
            other.close()
            coord.close()

    def test_reopen_and_restart_keep_the_counts_right(self):
        srv = self.srv
        lon, lat, ward, _ = A.WARD_POINTS[6]
        q, tok = srv.create_ok(lon, lat)
        total0, ward0 = self.ward_safe(ward)
        self.assertEqual(srv.post('/api/v1/requests/%s/safe?token=%s' % (q['code'], tok)).status,
                         200)
        self.assertEqual(self.ward_safe(ward), (total0 + 1, (ward0 or 0) + 1))
        # A coordinator reopens it: no longer a safe check-in.
        self.assertEqual(srv.post('/api/v1/requests/%s/status' % q['code'], {'status': 'new'},
                                  token=srv.token('coord')).status, 200)
        self.assertEqual(self.ward_safe(ward), (total0, ward0 or 0))
        # Cancelled the ordinary way: not one either.
        self.assertEqual(srv.post('/api/v1/requests/%s/cancel?token=%s' % (q['code'], tok))
                         .status, 200)
        self.assertEqual(self.ward_safe(ward), (total0, ward0 or 0))
        # Back to new and safe again; the count survives a restart (it is stored).
        srv.post('/api/v1/requests/%s/status' % q['code'], {'status': 'new'},
                 token=srv.token('coord'))
        srv.post('/api/v1/requests/%s/safe?token=%s' % (q['code'], tok))
        before = self.ward_safe(ward)
        self.assertEqual(before, (total0 + 1, (ward0 or 0) + 1))
        self.assertEqual(srv.stop(), 0)
        srv.start(*self.SERVE_ARGS)
        self.assertEqual(self.ward_safe(ward), before)


# ---- relief points --------------------------------------------------------------------------------

SHELTER = {'kind': 'shelter', 'name': 'Trường THCS Tân An Hội', 'lat': 10.9703, 'lon': 106.4651,
           'address': 'Ấp Chợ, xã Tân An Hội', 'hours': '24/7', 'capacity': 300}


class ReliefPointsTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ())]

    def add(self, **kw):
        body = dict(SHELTER)
        body.update(kw)
        r = self.srv.post('/api/v1/points', body, token=self.srv.token('coord'))
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def put(self, pid, body, status=200):
        r = self.srv.call('PUT', '/api/v1/points/%d' % pid, body, token=self.srv.token('coord'))
        self.assertEqual(r.status, status, r.text)
        return r

    def test_lifecycle(self):
        srv = self.srv
        f = self.add()
        pid = f['id']
        self.assertEqual(f['type'], 'Feature')
        self.assertEqual(f['geometry'], {'type': 'Point', 'coordinates': [106.4651, 10.9703]})
        p = f['properties']
        self.assertEqual({k: p[k] for k in ('kind', 'name', 'address', 'hours', 'capacity',
                                            'status')},
                         {'kind': 'shelter', 'name': SHELTER['name'], 'address': SHELTER['address'],
                          'hours': '24/7', 'capacity': 300, 'status': 'open'})
        self.assertTrue(A.re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', p['updated_at']))
        # Public reads, exact positions.
        fc = srv.get('/api/v1/points').json()
        self.assertEqual(fc['type'], 'FeatureCollection')
        self.assertIn(pid, [x['id'] for x in fc['features']])
        self.assertEqual(srv.get('/api/v1/points/%d' % pid).json()['properties']['name'],
                         SHELTER['name'])
        # One tap: full; then null clears hours and capacity; a Feature body moves it.
        self.assertEqual(self.put(pid, {'status': 'full'}).json()['properties']['status'], 'full')
        got = self.put(pid, {'hours': None, 'capacity': None}).json()['properties']
        self.assertEqual((got['hours'], got['capacity'], got['status'], got['name']),
                         (None, None, 'full', SHELTER['name']))
        got = self.put(pid, {'type': 'Feature', 'geometry': {'type': 'Point',
                                                             'coordinates': [106.47, 10.98]},
                             'properties': {'status': 'open'}}).json()
        self.assertEqual(got['geometry']['coordinates'], [106.47, 10.98])
        self.assertIn(pid, [x['id'] for x in srv.get('/api/v1/points?status=open').json()['features']])
        self.assertEqual(srv.get('/api/v1/points?kind=boat').json()['features'], [])
        # Gone.
        r = srv.call('DELETE', '/api/v1/points/%d' % pid, token=srv.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        self.assertError(srv.get('/api/v1/points/%d' % pid), 404, 'not_found')
        self.assertError(srv.call('DELETE', '/api/v1/points/%d' % pid, token=srv.token('coord')),
                         404, 'not_found')
        self.put(pid, {'status': 'open'}, status=404)
        for bad in ('abc', '0', '-1', '1e3'):
            self.assertError(srv.get('/api/v1/points/' + bad), 404, 'not_found')

    def test_roles(self):
        srv = self.srv
        for token, status, code in ((None, 401, 'unauthorized'), (srv.token('vol'), 403,
                                                                  'forbidden'),
                                    (srv.token('op'), 403, 'forbidden')):
            self.assertError(srv.post('/api/v1/points', SHELTER, token=token), status, code)
            self.assertError(srv.call('PUT', '/api/v1/points/1', {'status': 'full'}, token=token),
                             status, code)
            self.assertError(srv.call('DELETE', '/api/v1/points/1', token=token), status, code)

    def test_validation(self):
        srv = self.srv
        before = srv.get('/api/v1/points').json()
        cases = [
            ({'kind': None}, 'kind'), ({'kind': 'hotel'}, 'kind'), ({'kind': 3}, 'kind'),
            ({'name': None}, 'name'), ({'name': ''}, 'name'), ({'name': '  '}, 'name'),
            ({'name': 'x' * 101}, 'name'), ({'name': 42}, 'name'),
            ({'address': 'x' * 201}, 'address'), ({'hours': 'x' * 101}, 'hours'),
            ({'name': 'a\u0001b'}, 'name'),
            ({'capacity': -1}, 'capacity'), ({'capacity': 1000001}, 'capacity'),
            ({'capacity': 2.5}, 'capacity'), ({'capacity': '300'}, 'capacity'),
            ({'status': 'busy'}, 'status'), ({'lat': 91}, 'lat'), ({'lon': -181}, 'lon'),
            ({'lat': 'x'}, 'lat'), ({'lat': None, 'lon': None}, 'lat'),
        ]
        cases += [({'name': 'Nhà văn hoá %sấp 3' % c}, 'name') for c in BIDI]
        cases += [({'address': 'ấp %s3' % BIDI[4]}, 'address'),
                  ({'hours': '7:00%s-19:00' % BIDI[5]}, 'hours')]
        for patch, field in cases:
            with self.subTest(patch=patch):
                body = dict(SHELTER)
                body.update(patch)
                body = {k: v for k, v in body.items() if v is not None or k in ('capacity',)}
                self.assertError(srv.post('/api/v1/points', body, token=srv.token('coord')), 400,
                                 'invalid_field', field)
        self.assertError(srv.call('POST', '/api/v1/points', raw=b'{"kind":', token=srv.token(
            'coord'), headers={'Content-Type': 'application/json'}), 400, 'bad_json')
        self.assertError(srv.post('/api/v1/points', {'type': 'Feature', 'properties': SHELTER,
                                                     'geometry': {'type': 'Polygon'}},
                                  token=srv.token('coord')), 400, 'invalid_field', 'geometry')
        self.assertEqual(srv.get('/api/v1/points').json(), before)
        pid = self.add(name='Trạm y tế')['id']
        r = srv.call('PUT', '/api/v1/points/%d' % pid, {'name': 'Trạm %s' % BIDI[0]},
                     token=srv.token('coord'))
        self.assertError(r, 400, 'invalid_field', 'name')
        self.assertEqual(srv.get('/api/v1/points/%d' % pid).json()['properties']['name'],
                         'Trạm y tế')

    def test_nearest(self):
        srv = self.srv
        here = (106.52391, 10.96213)
        ids = {}
        for name, kind, status, (lon, lat) in (
                ('Ghe cứu hộ 1', 'boat', 'open', (106.53, 10.97)),
                ('Điểm sạc pin', 'charging', 'open', (106.51, 10.95)),
                ('Bếp ăn', 'food', 'full', (106.524, 10.963)),
                ('Nước sạch', 'water', 'closed', (106.5240, 10.9622)),
                ('Trạm y tế xa', 'medical', 'open', (106.60, 11.05))):
            ids[name] = self.add(name=name, kind=kind, status=status, lon=lon, lat=lat)['id']
        r = srv.get('/api/v1/points/nearest?lat=%r&lon=%r&limit=50' % (here[1], here[0]))
        self.assertEqual(r.status, 200, r.text)
        feats = [f for f in r.json()['features'] if f['id'] in ids.values()]
        names = [f['properties']['name'] for f in feats]
        # Open first (nearest first among them), then full, then closed.
        self.assertEqual(names, ['Ghe cứu hộ 1', 'Điểm sạc pin', 'Trạm y tế xa', 'Bếp ăn',
                                 'Nước sạch'])
        for f in feats:
            lon, lat = f['geometry']['coordinates']
            self.assertAlmostEqual(f['properties']['distance_m'],
                                   A.vincenty(here[0], here[1], lon, lat), delta=0.11)
        r = srv.get('/api/v1/points/nearest?lat=%r&lon=%r&kind=boat,medical&limit=1'
                    % (here[1], here[0])).json()
        self.assertEqual([f['properties']['name'] for f in r['features']], ['Ghe cứu hộ 1'])
        default = srv.get('/api/v1/points/nearest?lat=%r&lon=%r' % (here[1], here[0])).json()
        self.assertLessEqual(len(default['features']), 5)
        for q, field in (('lon=106.5', 'lat'), ('lat=11', 'lon'), ('lat=91&lon=106', 'lat'),
                         ('lat=11&lon=181', 'lon'), ('lat=x&lon=106', 'lat'),
                         ('lat=11&lon=106&limit=0', 'limit'), ('lat=11&lon=106&limit=51', 'limit'),
                         ('lat=11&lon=106&limit=x', 'limit'), ('lat=11&lon=106&kind=hotel', 'kind'),
                         ('lat=nan&lon=106', 'lat')):
            with self.subTest(q=q):
                self.assertError(srv.get('/api/v1/points/nearest?' + q), 400, 'invalid_field',
                                 field)
        self.assertError(srv.get('/api/v1/points?status=busy'), 400, 'invalid_field', 'status')

    def test_events_and_tiles(self):
        srv = self.srv
        public, only_points = A.SSE(srv), A.SSE(srv, query='?types=point')
        try:
            pid = self.add(name='Nhà văn hoá ấp 5', lon=106.4813, lat=11.1017)['id']
            self.put(pid, {'status': 'full'})
            srv.create_ok(*A.WARD_POINTS[1][:2])
            srv.call('DELETE', '/api/v1/points/%d' % pid, token=srv.token('coord'))
            for s in (public, only_points):
                created = s.wait(lambda e: e.get('event') == 'point.created' and
                                 e['data'].get('id') == pid)
                self.assertIsNotNone(created)
                self.assertEqual(created['data']['name'], 'Nhà văn hoá ấp 5')
                self.assertEqual(created['data']['status'], 'open')
                upd = s.wait(lambda e: e.get('event') == 'point.updated' and
                             e['data'].get('id') == pid)
                self.assertEqual(upd['data']['status'], 'full')
                gone = s.wait(lambda e: e.get('event') == 'point.deleted' and
                              e['data'].get('id') == pid)
                self.assertEqual(gone['data'], {'id': pid})
            # Asked for points only: no request event came.
            self.assertTrue(any(e['event'] == 'request.created' for e in public.snapshot()))
            self.assertEqual({e['event'] for e in only_points.snapshot()},
                             {'point.created', 'point.updated', 'point.deleted'})
            ids = [e['id'] for e in only_points.snapshot()]
            self.assertEqual(ids, sorted(ids))
        finally:
            public.close()
            only_points.close()
        self.assertError(srv.get('/api/v1/events?types=weather'), 400, 'invalid_field', 'types')
        # Tiles: the point where it stands, its status as it is now.
        pid = self.add(name='Ghe ông Sáu', kind='boat', lon=106.6102, lat=10.9800)['id']
        z, (x, y) = 14, A.tile_xy(106.6102, 10.9800, 14)
        t = srv.get('/tiles/points/%d/%d/%d.mvt' % (z, x, y))
        self.assertEqual(t.status, 200)
        self.assertIn('Ghe ông Sáu'.encode(), t.body)
        self.assertIn(b'open', t.body)
        self.put(pid, {'status': 'closed'})
        t = srv.get('/tiles/points/%d/%d/%d.mvt' % (z, x, y))
        self.assertIn(b'closed', t.body)
        self.assertEqual(srv.get('/tiles/points/%d/%d/%d.mvt' % (z, x + 3, y + 3)).status, 204)
        tj = srv.get('/tiles/points.json').json()
        self.assertEqual(tj['vector_layers'][0]['id'], 'points')
        self.assertEqual(tj['vector_layers'][0]['fields']['kind'], 'String')
        self.assertTrue(tj['tiles'][0].endswith('/tiles/points/{z}/{x}/{y}.mvt'))
        srv.call('DELETE', '/api/v1/points/%d' % pid, token=srv.token('coord'))
        self.assertEqual(srv.get('/tiles/points/%d/%d/%d.mvt' % (z, x, y)).status, 204)


class TwoServersTest(A.ServerTest):
    """Several servers on one database agree on the relief points: each follows the store's
    change log (a point made on one is served by the other within seconds)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = A.Server(cls.__name__ + '-b')
        cls.other_db, cls.other.db = cls.other.db, cls.srv.db
        cls.other.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.other.stop()
        log = cls.other.read_log()
        cls.other.db = cls.other_db  # its own, unused: the shared one goes with the first
        cls.other.cleanup()
        super().tearDownClass()
        if rc != 0 or 'level=error' in log:
            raise AssertionError('the second server: %s\n%s' % (rc, log[-3000:]))

    def eventually(self, fn, want, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got == want or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    def test_points_made_on_one_server_are_served_by_the_other(self):
        a, b = self.srv, self.other
        stream = A.SSE(b, query='?types=point')
        try:
            r = a.post('/api/v1/points', SHELTER, token=a.token('coord'))
            self.assertEqual(r.status, 201, r.text)
            pid = r.json()['id']

            def status_on_b():
                fc = b.get('/api/v1/points').json()
                return [f['properties']['status'] for f in fc['features'] if f['id'] == pid]
            self.assertEqual(self.eventually(status_on_b, ['open']), ['open'])
            a.call('PUT', '/api/v1/points/%d' % pid, {'status': 'full'}, token=a.token('coord'))
            self.assertEqual(self.eventually(status_on_b, ['full']), ['full'])
            near = b.get('/api/v1/points/nearest?lat=10.97&lon=106.465').json()
            self.assertEqual(near['features'][0]['id'], pid)
            a.call('DELETE', '/api/v1/points/%d' % pid, token=a.token('coord'))
            self.assertEqual(self.eventually(status_on_b, []), [])
            # The other server's stream told its pages, with the same event ids.
            gone = stream.wait(lambda e: e.get('event') == 'point.deleted')
            self.assertIsNotNone(gone)
            self.assertEqual([e['event'] for e in stream.snapshot()],
                             ['point.created', 'point.updated', 'point.deleted'])
        finally:
            stream.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', required=True, help='the helpmap binary')
    ap.add_argument('--web', required=True, help='the web/ directory')
    ap.add_argument('--data', required=True, help='tests/data')
    ap.add_argument('--pg', action='store_true',
                    help='PostGIS databases on the server of $HM_TEST_PG_URI instead of files')
    args, rest = ap.parse_known_args()
    A.BIN = os.path.abspath(args.bin)
    A.WEB = os.path.abspath(args.web)
    A.DATA = os.path.abspath(args.data)
    if args.pg:
        if not os.environ.get('HM_TEST_PG_URI'):
            print('test_flood: skipped: --pg without HM_TEST_PG_URI (run it under scripts/pg.sh '
                  'run)', file=sys.stderr)
            sys.exit(77)
        A.PG = A.PgServer(os.environ['HM_TEST_PG_URI'])
    t0 = time.monotonic()
    try:
        prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    finally:
        if A.PG:
            A.PG.close()
    print('test_flood%s: %d tests, %d failures, %d errors, %d skipped in %.1f s' % (
        ' (PostGIS)' if A.PG else '', prog.result.testsRun, len(prog.result.failures),
        len(prog.result.errors), len(prog.result.skipped), time.monotonic() - t0))
    sys.exit(0 if prog.result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
