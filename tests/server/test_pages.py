#!/usr/bin/python3
"""test_pages.py: issue 15, the server side of the pages in a crisis — the tracking page's own
event stream (GET /api/v1/events?code=C&token=T: that request's events only, the tracking token,
Last-Event-ID, the public stream cap, every server of one database), the name of the team holding
a request as its resident sees it, the public `place` hint of request objects, and a hamlet given
by name that matches no hamlet kept as address text on every intake path.

Uses the harness of api_test.py (the real server on a free loopback port, a temporary database).
Run by ctest as
    python3 tests/server/test_pages.py --bin BUILD/helpmap --web WEB --data tests/data [--pg]
"""
import json
import math
import os
import shutil
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
CONTACT = ('name', 'phone', 'note', 'address', 'reporter', 'location_text')

# The place names shipped with helpmap (GeoNames), read here to know the expected hints.
PLACES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'geodata',
                           'data', 'cu_chi_places_geonames.geojson')


def stream(srv, code, token, last_event_id=None, bearer=None, extra=''):
    """The request's own stream, as the tracking page opens it."""
    q = '?code=%s' % urllib.parse.quote(code)
    if token is not None:
        q += '&token=%s' % urllib.parse.quote(token)
    return SSE(srv, token=bearer, last_event_id=last_event_id, query=q + extra)


def of_code(code, event=None):
    return lambda e: e['data'].get('code') == code and (event is None or e.get('event') == event)


def approx_m(lon1, lat1, lon2, lat2):
    k = math.cos((lat1 + lat2) * 0.5 * math.pi / 180.0)
    return math.hypot((lon2 - lon1) * k * 111320.0, (lat2 - lat1) * 110574.0)


def shipped_places():
    """(name, lon, lat) of the shipped names a hint may be: not a commune's point (ADM)."""
    with open(PLACES_FILE, encoding='utf-8') as f:
        fc = json.load(f)
    return [(p['properties']['name'], *p['geometry']['coordinates']) for p in fc['features']
            if not p['properties'].get('feature_code', '').startswith('ADM')]


def nearest_shipped(lon, lat):
    """[(metres, name), ...] from the point snapped to the public grid, nearest first."""
    slon, slat = round(lon, 3), round(lat, 3)
    return sorted((approx_m(slon, slat, x, y), n) for n, x, y in shipped_places())


# ---- 1. the tracking page's own stream --------------------------------------------------------

class OwnStreamTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()),
             ('Tổ Nhuận Đức 2', 'volunteer', ()), ('other', 'volunteer', ())]

    def vol(self):
        return self.srv.token('Tổ Nhuận Đức 2')

    def test_only_its_own_events_reach_it(self):
        s = self.srv
        mine, tok = s.create_ok(*WARD_POINTS[2][:2], phone='0909 700 001', name='Bà Sáu',
                                note='hết nước', address='12 ấp 3')
        own = stream(s, mine['code'], tok)
        public = SSE(s)
        try:
            self.assertEqual(own.status, 200)
            self.assertTrue(own.headers['content-type'].startswith('text/event-stream'))
            # 60 requests arrive elsewhere and move: the district's stream hears all of them.
            foreign = []
            for i in range(60):
                q, _ = s.create_ok(WARD_POINTS[i % 7][0] + 0.0002 * (i % 5),
                                   WARD_POINTS[i % 7][1], category='food')
                foreign.append(q['code'])
            r = s.post('/api/v1/requests/%s/claim' % foreign[0], token=s.token('other'))
            self.assertEqual(r.status, 200, r.text)
            self.assertIsNotNone(public.wait(of_code(foreign[-1], 'request.created')))
            # Its own change does reach it, as the resident sees the request.
            r = s.post('/api/v1/requests/%s/claim' % mine['code'], token=self.vol())
            self.assertEqual(r.status, 200, r.text)
            # (its creation's own event may have reached it first: events are published by
            # their own thread, after the answer, and the stream opened right after it)
            ev = own.wait(of_code(mine['code'], 'request.updated'))
            self.assertIsNotNone(ev, own.text())
            d = ev['data']
            self.assertEqual(d['status'], 'assigned')
            self.assertEqual(d['team_name'], 'Tổ Nhuận Đức 2')
            self.assertEqual(d['team_id'], s.team_id('Tổ Nhuận Đức 2'))
            self.assertIn('place', d)
            for k in CONTACT:  # never contact data in an event, not even the resident's own
                self.assertNotIn(k, d)
            # The resident's own position, not the public grid.
            self.assertAlmostEqual(d['lat'], WARD_POINTS[2][1], places=6)
            self.assertIsNotNone(public.wait(of_code(mine['code'], 'request.updated')))
            # Nothing else came on the own stream: the 60 arrivals, the other claim cost it
            # nothing but the greeting (and heartbeats).
            self.assertEqual({e['data']['code'] for e in own.snapshot()}, {mine['code']},
                             own.text())
            for line in own.text().split('\n'):
                if line.startswith('data:'):
                    self.assertIn(mine['code'], line)
            self.assertNotIn(foreign[0], own.text())
            self.assertLess(len(own.text().encode()), 1500, own.text())
        finally:
            own.close()
            public.close()

    def test_wrong_token_and_other_callers(self):
        s = self.srv
        mine, tok = s.create_ok(*WARD_POINTS[3][:2])
        other, other_tok = s.create_ok(*WARD_POINTS[4][:2])
        cases = [
            ('wrong token', stream(s, mine['code'], '0' * 32), 404, 'not_found', ...),
            ("another request's token", stream(s, mine['code'], other_tok), 404, 'not_found',
             ...),
            ('no token', stream(s, mine['code'], None), 404, 'not_found', ...),
            ('unknown code', stream(s, 'CC-000000', tok), 404, 'not_found', ...),
            ('malformed code', stream(s, 'nope!', tok), 404, 'not_found', ...),
            # A team token is not the resident's: teams follow their own streams.
            ('coordinator without token', stream(s, mine['code'], None, bearer=s.token('coord')),
             403, 'forbidden', ...),
            ('volunteer without token', stream(s, mine['code'], None, bearer=self.vol()), 403,
             'forbidden', ...),
            # A tracking token alone would be the district's stream on a phone.
            ('token without code', SSE(s, query='?token=%s' % tok), 400, 'invalid_field', 'code'),
        ]
        r = s.post('/api/v1/events/ticket', token=s.token('coord'))
        ticket = r.json()['ticket']
        cases.append(('ticket with code', stream(s, mine['code'], tok, extra='&ticket=' + ticket),
                      400, 'invalid_field', 'ticket'))
        for name, st, status, code, field in cases:
            with self.subTest(name):
                try:
                    self.assertEqual(st.status, status, getattr(st, 'body', b''))
                    self.assertError(A.Resp(st.status, st.resp.getheaders(), st.body), status,
                                     code, field)
                finally:
                    st.close()
        # The token works as ?token=, as a bearer, and beside a team's bearer.
        for name, st in (('query', stream(s, mine['code'], tok)),
                         ('bearer', stream(s, mine['code'], None, bearer=tok)),
                         ('team bearer and token', stream(s, mine['code'], tok,
                                                          bearer=s.token('coord')))):
            with self.subTest(name):
                try:
                    self.assertEqual(st.status, 200)
                    r = s.post('/api/v1/requests/%s/verify' % mine['code'], token=s.token('op'))
                    self.assertEqual(r.status, 200, r.text)
                    self.assertIsNotNone(st.wait(of_code(mine['code'])), st.text())
                finally:
                    st.close()
        # Case and dashes of the code are ignored, as everywhere.
        st = stream(s, mine['code'].lower().replace('-', ''), tok)
        try:
            self.assertEqual(st.status, 200)
        finally:
            st.close()

    def test_resume_with_last_event_id(self):
        s = self.srv
        mine, tok = s.create_ok(*WARD_POINTS[5][:2])
        st = stream(s, mine['code'], tok)
        try:
            r = s.post('/api/v1/requests/%s/claim' % mine['code'], token=self.vol())
            self.assertEqual(r.status, 200, r.text)
            # The claim's event (the creation's own may reach a stream opened right after the
            # 201: events are published by their own thread, after the answer).
            first = st.wait(lambda e: of_code(mine['code'])(e) and
                            e['data'].get('status') == 'assigned')
            self.assertIsNotNone(first, st.text())
        finally:
            st.close()
        # While the phone is away: its request moves twice, others arrive.
        for to in ('in_progress', 'resolved'):
            s.create_ok(*WARD_POINTS[0][:2])
            body = {'status': to}
            if to == 'resolved':
                body['note'] = 'đã giao 10 bình nước'
            r = s.post('/api/v1/requests/%s/status' % mine['code'], body, token=self.vol())
            self.assertEqual(r.status, 200, r.text)
        s.create_ok(*WARD_POINTS[1][:2])
        again = stream(s, mine['code'], tok, last_event_id=first['id'])
        try:
            self.assertEqual(again.status, 200)
            done = again.wait(lambda e: e['data'].get('status') == 'resolved')
            self.assertIsNotNone(done, again.text())
            got = again.snapshot()
            self.assertEqual([e['data']['status'] for e in got], ['in_progress', 'resolved'])
            self.assertEqual({e['data']['code'] for e in got}, {mine['code']})
            self.assertTrue(all(e['id'] > first['id'] for e in got), got)
            self.assertLess(got[0]['id'], got[1]['id'])
        finally:
            again.close()
        # The history it then reads has the note the team left.
        q = s.resident_get(mine['code'], tok)
        self.assertIn('đã giao 10 bình nước', [h['note'] for h in q['history']])

    def test_history_notes_reach_it(self):
        # A caller rings the hotline again about the same need: the operator's repeat adds the
        # caller's note to the request's history; the resident's page hears of it.
        s = self.srv
        lon, lat = WARD_POINTS[6][:2]
        phone = fresh_phone()
        mine, tok = s.create_ok(lon, lat, phone=phone, category='water')
        st = stream(s, mine['code'], tok)
        try:
            r = s.create(lon + 0.0003, lat, phone=phone, category='water',
                         note='gọi lại: nhà có người già', token=s.token('op'))
            self.assertEqual(r.status, 200, r.text)
            self.assertTrue(r.json()['duplicate'])
            # (the creation's own event may reach a stream opened right after the 201: events
            # are published by their own thread, after the answer)
            ev = st.wait(of_code(mine['code'], 'request.updated'))
            self.assertIsNotNone(ev, st.text())
            self.assertNotIn('note', ev['data'])
        finally:
            st.close()
        q = s.resident_get(mine['code'], tok)
        self.assertIn('gọi lại: nhà có người già', [h['note'] for h in q['history']])


class OwnStreamCapTest(A.ServerTest):
    """A request's own stream is a public stream: it counts against the public share of the
    streams (token holders keep the rest) and against its address's public streams."""
    TEAMS = [('coord', 'coordinator', ())]
    # 5 streams in all, 4 of them public; 3 public streams per address.
    SERVE_ARGS = ('--max-subscribers', '5', '--max-streams-per-ip', '3')

    def test_counts_against_the_stream_caps(self):
        s = self.srv
        mine, tok = s.create_ok(*WARD_POINTS[0][:2])
        opened = [SSE(s), stream(s, mine['code'], tok), stream(s, mine['code'], tok)]
        try:
            self.assertEqual([x.status for x in opened], [200, 200, 200])
            # The address's fourth public stream, an own stream or not: 429.
            for extra in (stream(s, mine['code'], tok), SSE(s)):
                try:
                    self.assertError(A.Resp(extra.status, extra.resp.getheaders(), extra.body),
                                     429, 'rate_limited')
                finally:
                    extra.close()
            # Token holders' room is not the public's.
            coord = SSE(s, token=s.token('coord'))
            opened.append(coord)
            self.assertEqual(coord.status, 200)
        finally:
            for x in opened:
                x.close()
        # Room again once the phone goes away (a closed stream is noticed at its next event).
        s.create_ok(*WARD_POINTS[1][:2])
        r = s.post('/api/v1/requests/%s/verify' % mine['code'], token=s.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        deadline = time.monotonic() + 20
        while True:
            e = stream(s, mine['code'], tok)
            ok = e.status == 200
            e.close()
            if ok or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertTrue(ok)


class OwnStreamShareTest(A.ServerTest):
    """The public share: 80 % of --max-subscribers, own streams included (503 past it)."""
    SERVE_ARGS = ('--max-subscribers', '5', '--max-streams-per-ip', '0')

    def test_public_share(self):
        s = self.srv
        mine, tok = s.create_ok(*WARD_POINTS[0][:2])
        opened = [SSE(s), SSE(s), stream(s, mine['code'], tok), stream(s, mine['code'], tok)]
        try:
            self.assertEqual([x.status for x in opened], [200] * 4)
            extra = stream(s, mine['code'], tok)
            try:
                self.assertError(A.Resp(extra.status, extra.resp.getheaders(), extra.body), 503,
                                 'unavailable')
            finally:
                extra.close()
            coord = SSE(s, token=s.token('coord'))
            opened.append(coord)
            self.assertEqual(coord.status, 200)
        finally:
            for x in opened:
                x.close()


# ---- 2. the team's name -----------------------------------------------------------------------

class TeamNameTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('Đội Phú Hòa Đông 1', 'volunteer', ()),
             ('Đội An Nhơn Tây', 'volunteer', ())]

    def test_resident_sees_the_holding_team(self):
        s = self.srv
        a, b = 'Đội Phú Hòa Đông 1', 'Đội An Nhơn Tây'
        mine, tok = s.create_ok(*WARD_POINTS[4][:2])
        self.assertIsNone(s.resident_get(mine['code'], tok)['team_name'])
        r = s.post('/api/v1/requests/%s/claim' % mine['code'], token=s.token(a))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['request']['team_name'], a)
        q = s.resident_get(mine['code'], tok)
        self.assertEqual(q['team_name'], a)
        self.assertEqual(q['team_id'], s.team_id(a))
        # The team's name only: no other field of the team (no token, no position).
        self.assertIsInstance(q['team_name'], str)
        for k in ('team', 'capabilities', 'token', 'position_at'):
            self.assertNotIn(k, q)
        # Readers of one request see it too; lists and the public do not.
        r = s.get('/api/v1/requests/%s' % mine['code'], token=s.token('coord'))
        self.assertEqual(r.json()['request']['team_name'], a)
        pub = [f['properties'] for f in s.get('/api/v1/requests?status=all').json()['features']
               if f['properties']['code'] == mine['code']]
        self.assertEqual(len(pub), 1)
        self.assertNotIn('team_name', pub[0])
        # A coordinator reassigns: the name follows, on the resident's stream too.
        st = stream(s, mine['code'], tok)
        try:
            r = s.post('/api/v1/requests/%s/assign' % mine['code'], {'team_id': s.team_id(b)},
                       token=s.token('coord'))
            self.assertEqual(r.status, 200, r.text)
            # The reassignment's event (the claim's may still be on its way to a stream opened
            # right after it: events are published by their own thread, after the answer).
            ev = st.wait(lambda e: of_code(mine['code'])(e) and
                         e['data'].get('team_id') == s.team_id(b))
            self.assertIsNotNone(ev, st.text())
            self.assertEqual(ev['data']['team_name'], b)
        finally:
            st.close()
        self.assertEqual(s.resident_get(mine['code'], tok)['team_name'], b)
        # Released: nobody holds it.
        r = s.post('/api/v1/requests/%s/status' % mine['code'], {'status': 'new'},
                   token=s.token(b))
        self.assertEqual(r.status, 200, r.text)
        self.assertIsNone(s.resident_get(mine['code'], tok)['team_name'])

    def test_name_stays_after_the_team_is_disabled(self):
        s = self.srv
        a = 'Đội Phú Hòa Đông 1'
        mine, tok = s.create_ok(*WARD_POINTS[5][:2])
        for path, body in (('claim', None), ('status', {'status': 'in_progress'}),
                           ('status', {'status': 'resolved'})):
            r = s.post('/api/v1/requests/%s/%s' % (mine['code'], path), body, token=s.token(a))
            self.assertEqual(r.status, 200, r.text)
        r = s.post('/api/v1/teams/%d/disable' % s.team_id(a), token=s.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(s.resident_get(mine['code'], tok)['team_name'], a)
        r = s.post('/api/v1/teams/%d/enable' % s.team_id(a), token=s.token('coord'))
        self.assertEqual(r.status, 200, r.text)

    def test_team_payloads_name_the_team_public_ones_do_not(self):
        s = self.srv
        a = 'Đội An Nhơn Tây'
        mine, _ = s.create_ok(*WARD_POINTS[1][:2])
        coord = SSE(s, token=s.token('coord'))
        public = SSE(s)
        try:
            r = s.post('/api/v1/requests/%s/claim' % mine['code'], token=s.token(a))
            self.assertEqual(r.status, 200, r.text)
            ev = coord.wait(of_code(mine['code'], 'request.updated'))
            self.assertIsNotNone(ev, coord.text())
            self.assertEqual(ev['data']['team_name'], a)
            ev = public.wait(of_code(mine['code'], 'request.updated'))
            self.assertIsNotNone(ev, public.text())
            self.assertNotIn('team_name', ev['data'])
        finally:
            coord.close()
            public.close()


# ---- 3. the place hint ------------------------------------------------------------------------

class PlaceHintTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('vol', 'volunteer', ())]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The place index is built in the background after the start.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = cls.srv.get('/api/v1/places?q=phuoc')
            if r.status == 200 and r.json()['places']:
                break
            time.sleep(0.2)

    def hinted(self, lon, lat):
        """Two nearest shipped names, the nearest clearly nearer (no tie for the test)."""
        near = nearest_shipped(lon, lat)
        self.assertGreater(near[1][0] - near[0][0], 50, near[:2])
        self.assertLess(near[0][0], 3000 - 50, near[:2])
        return near[0][1]

    def test_every_request_object_carries_the_hint(self):
        s = self.srv
        lon, lat = WARD_POINTS[6][:2]
        want = self.hinted(lon, lat)
        public = SSE(s)
        team = SSE(s, token=s.token('coord'))
        try:
            q, tok = s.create_ok(lon, lat)
            self.assertEqual(q['place'], want)
            self.assertEqual(s.resident_get(q['code'], tok)['place'], want)
            for who in (None, s.token('coord')):
                props = [f['properties'] for f in
                         s.get('/api/v1/requests?status=all', token=who).json()['features']
                         if f['properties']['code'] == q['code']]
                self.assertEqual([p['place'] for p in props], [want])
            r = s.get('/api/v1/requests/nearby?lat=%f&lon=%f&radius_m=300' % (lat, lon),
                      token=s.token('vol'))
            self.assertEqual(r.status, 200, r.text)
            props = [f['properties'] for f in r.json()['features']
                     if f['properties']['code'] == q['code']]
            self.assertEqual([p['place'] for p in props], [want])
            for st in (public, team):
                ev = st.wait(of_code(q['code'], 'request.created'))
                self.assertIsNotNone(ev, st.text())
                self.assertEqual(ev['data']['place'], want)
        finally:
            public.close()
            team.close()

    def test_hint_is_the_nearest_name_and_public(self):
        s = self.srv
        lon, lat = FORMER_POINTS[4][:2]
        want = self.hinted(lon, lat)
        q, _ = s.create_ok(lon, lat)
        self.assertEqual(q['place'], want)
        # Two points of one public grid cell have the same hint: it tells no more than the grid.
        cell = (round(lon, 3), round(lat, 3))
        a, _ = s.create_ok(cell[0] - 0.0004, cell[1] + 0.0004)
        b, _ = s.create_ok(cell[0] + 0.0004, cell[1] - 0.0004)
        self.assertEqual(a['place'], b['place'])
        self.assertEqual(a['place'], nearest_shipped(*cell)[0][1])

    def test_no_hint_far_from_every_name(self):
        s = self.srv
        # A point inside the district more than 3.2 km from every shipped name.
        found = None
        for i in range(40):
            for j in range(40):
                lon, lat = 106.37 + i * 0.0075, 10.90 + j * 0.0075
                # ... and from the name test_imported_names_become_hints adds.
                if (nearest_shipped(lon, lat)[0][0] < 3200 or
                        approx_m(lon, lat, *WARD_POINTS[3][:2]) < 3500):
                    continue
                r = s.get('/api/v1/geo/parse?text=%s' % urllib.parse.quote('%f, %f' % (lat, lon)))
                if r.status == 200 and r.json()['inside']:
                    found = (lon, lat)
                    break
            if found:
                break
        if not found:
            self.skipTest('no point of the district is 3.2 km from every shipped name')
        q, _ = s.create_ok(*found)
        self.assertIsNone(q['place'])

    def test_imported_names_become_hints(self):
        s = self.srv
        lon, lat = WARD_POINTS[3][:2]
        d = tempfile.mkdtemp(prefix='helpmap-pages-')
        try:
            path = os.path.join(d, 'places.geojson')
            with open(path, 'w', encoding='utf-8') as f:
                json.dump({'type': 'FeatureCollection', 'features': [{
                    'type': 'Feature', 'properties': {'name': 'Chợ Thử Nghiệm', 'kind': 'market'},
                    'geometry': {'type': 'Point', 'coordinates': [lon + 0.0005, lat]}}]}, f)
            s.cli('import-places', '--db', s.db, path)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        deadline = time.monotonic() + 15
        while True:
            q, _ = s.create_ok(lon, lat)
            if q['place'] == 'Chợ Thử Nghiệm' or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        self.assertEqual(q['place'], 'Chợ Thử Nghiệm')


# ---- 4. a hamlet given by name ----------------------------------------------------------------

class HamletByNameTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ())]

    @classmethod
    def prepare(cls, srv):
        out = srv.cli('import-areas', '--db', srv.db, '--level', 'hamlet',
                      os.path.join(A.DATA, A.HAMLET_FIXTURE)).stdout
        assert 'imported 2 hamlet' in out, out

    def post(self, hamlet, address='số 3', ward='27496', token=None):
        return self.srv.post('/api/v1/requests', {
            'ward_code': ward, 'hamlet_code': hamlet, 'address': address, 'category': 'food',
            'people': 2, 'phone': fresh_phone()}, token=token)

    def test_names_codes_and_unknown_names(self):
        for typed, want, addr in (('27496-T02', '27496-T02', 'số 3'),
                                  ('synthetic t02', '27496-T02', 'số 3'),
                                  ('SYNTHETIC T01', '27496-T01', 'số 3'),
                                  ('Ấp Synthetic T01', '27496-T01', 'số 3'),
                                  ('  Synthetic T02 ', '27496-T02', 'số 3'),
                                  ('Ấp Phú Lợi', None, 'số 3, Ấp Phú Lợi'),
                                  ('27496-T99', None, 'số 3, 27496-T99')):
            for who in (None, 'op'):
                with self.subTest(typed=typed, who=who):
                    r = self.post(typed, token=self.srv.token(who) if who else None)
                    self.assertEqual(r.status, 201, r.text)
                    q = r.json()['request']
                    self.assertEqual(q['hamlet_code'], want)
                    self.assertEqual(q['address'], addr)
                    self.assertEqual(q['ward_code'], '27496')
                    self.assertIn(q['location_precision'], ('address', 'place'))

    def test_name_already_in_the_address_is_not_repeated(self):
        for typed, addr in (('Ấp Phú Lợi', 'số 3, ap phu loi'), ('Ấp Phú Lợi', 'số 3 Phú Lợi'),
                            ('phu loi', 'số 3, Ấp Phú Lợi')):
            with self.subTest(typed=typed, addr=addr):
                r = self.post(typed, address=addr)
                self.assertEqual(r.status, 201, r.text)
                self.assertEqual(r.json()['request']['address'], addr)
        # "Tổ" (a group of houses) is no hamlet: "Tổ 5" does not find "Ấp 5" or drop its word.
        r = self.post('Tổ 5', address='số 3')
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json()['request']['address'], 'số 3, Tổ 5')

    def test_address_stays_within_200_characters(self):
        r = self.post('Ấp Phú Lợi', address='đ' * 195)
        self.assertEqual(r.status, 201, r.text)
        addr = r.json()['request']['address']
        self.assertEqual(len(addr), 200)
        self.assertTrue(addr.startswith('đ' * 195 + ', Ấp'), addr)

    def test_still_refused(self):
        before = self.srv.snapshot()
        for hamlet, field in (('x' * 101, 'hamlet_code'), (42, 'hamlet_code'),
                              (['Ấp Phú Lợi'], 'hamlet_code'), ('Ấp\u202eX', 'hamlet_code')):
            with self.subTest(hamlet=hamlet):
                self.assertError(self.post(hamlet), 400, 'invalid_field', field)
        # An unknown commune is still an error, whatever the hamlet.
        self.assertError(self.post('Ấp Phú Lợi', ward='99999'), 400, 'invalid_field',
                         'ward_code')
        self.assertEqual(self.srv.snapshot(), before)

    def test_no_hamlets_known_at_all(self):
        # Where no hamlet is imported (Củ Chi's default), a typed name is address text.
        r = self.post('Ấp Phú Lợi', ward='27508')
        self.assertEqual(r.status, 201, r.text)
        q = r.json()['request']
        self.assertIsNone(q['hamlet_code'])
        self.assertEqual(q['address'], 'số 3, Ấp Phú Lợi')


# ---- 5. every server of one database ----------------------------------------------------------

def second_server(first, name):
    """Another helpmap process on the database of `first` (a file or a PostGIS database)."""
    srv = A.Server.__new__(A.Server)
    srv.dir = tempfile.mkdtemp(prefix='helpmap-api-%s-' % name)
    srv.db = first.db
    srv.log_path = os.path.join(srv.dir, 'stderr.log')
    srv.proc = None
    srv.port = None
    srv.teams = first.teams
    srv.seen_bodies = []
    return srv


class TwoServersTest(A.ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('vol', 'volunteer', ())]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = second_server(cls.srv, cls.__name__ + '2')
        cls.other.start()

    @classmethod
    def tearDownClass(cls):
        o = cls.other
        alive = o.alive()
        rc = o.stop()
        log = o.read_log()
        shutil.rmtree(o.dir, ignore_errors=True)
        try:
            super().tearDownClass()
        finally:
            assert alive and rc == 0, (rc, log[-3000:])
            for sign in ('runtime error:', 'Sanitizer', 'level=error'):
                assert sign not in log, log[-3000:]

    def test_own_stream_on_another_server(self):
        a, b = self.srv, self.other
        mine, tok = a.create_ok(*WARD_POINTS[2][:2])
        on_a = stream(a, mine['code'], tok)
        on_b = stream(b, mine['code'], tok)
        try:
            self.assertEqual((on_a.status, on_b.status), (200, 200))
            a.create_ok(*WARD_POINTS[0][:2])
            r = a.post('/api/v1/requests/%s/claim' % mine['code'], token=a.token('vol'))
            self.assertEqual(r.status, 200, r.text)
            # (The other server may hear of the creation itself after the stream opened, read
            # back as the row stands by then: the claim's update is the event to compare.)
            assigned = lambda e: (of_code(mine['code'], 'request.updated')(e) and
                                  e['data']['status'] == 'assigned')
            ev_a = on_a.wait(assigned)
            ev_b = on_b.wait(assigned)
            self.assertIsNotNone(ev_a, on_a.text())
            self.assertIsNotNone(ev_b, on_b.text())
            # The same event, the same id, on both (ids come from the change log).
            self.assertEqual(ev_a['id'], ev_b['id'], (on_a.text(), on_b.text()))
            self.assertEqual(ev_b['data']['status'], 'assigned')
            self.assertEqual(ev_b['data']['team_name'], 'vol')
            self.assertEqual({e['data']['code'] for e in on_b.snapshot()}, {mine['code']})
        finally:
            on_a.close()
            on_b.close()
        # The balancer switches the phone to the other server: it resumes where it was.
        r = b.post('/api/v1/requests/%s/status' % mine['code'], {'status': 'in_progress'},
                   token=b.token('vol'))
        self.assertEqual(r.status, 200, r.text)
        again = stream(a, mine['code'], tok, last_event_id=ev_a['id'])
        try:
            ev = again.wait(lambda e: e['data'].get('status') == 'in_progress')
            self.assertIsNotNone(ev, again.text())
            self.assertEqual(ev['data']['status'], 'in_progress')
            self.assertGreater(ev['id'], ev_a['id'])
        finally:
            again.close()
        # The resident's view on either server names the team.
        for srv in (a, b):
            self.assertEqual(srv.resident_get(mine['code'], tok)['team_name'], 'vol')


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
            print('test_pages: skipped: --pg without HM_TEST_PG_URI (run it under scripts/pg.sh '
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
