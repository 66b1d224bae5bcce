#!/usr/bin/python3
"""api_test.py: the helpmap server over HTTP, as residents, teams and outside clients see it.

Each test class starts the real `helpmap serve` on 127.0.0.1, port 0 (the port is read back
from the "helpmap listening on http://127.0.0.1:PORT/" line), with a temporary database, and
stops it with SIGTERM at the end (a non-zero exit status, e.g. a sanitizer report, fails the
class). Python 3.11 standard library only; loopback traffic only.

Run by ctest as
    python3 tests/server/api_test.py --bin BUILD/helpmap --web WEB --data tests/data
Extra arguments go to unittest, e.g. `... -k Transition` or `... ClaimRaceTest`.

With --pg the same tests run on PostGIS: each server gets a new database on the PostgreSQL
server of $HM_TEST_PG_URI (a URI whose user may create databases; `scripts/pg.sh run`
starts a throwaway server and sets it), made from a template with PostGIS and dropped at the
end. Without $HM_TEST_PG_URI the run exits 77 (skipped). psql (postgresql-client) makes and
drops the databases.

Expected area codes below were computed once, independently of helpmap, with
    ogrinfo -dialect SQLite -sql "SELECT code FROM cu_chi_communes_2025
        WHERE ST_Intersects(geometry, MakePoint(lon, lat, 4326))" geodata/data/...geojson
(every point is at least 250 m from its polygons' boundaries), and hard-coded.
"""
import argparse
import csv
import http.client
import io
import itertools
import json
import math
import os
import random
import re
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

BIN = None
WEB = None
DATA = None
PG = None  # the PostgreSQL side of --pg runs, or None for SpatiaLite files

HAMLET_FIXTURE = 'api_hamlets_synthetic.geojson'

CODE_RE = re.compile(r'^CC-[0123456789ABCDEGHKMNPQRSTVXY]{6}$')
CODE_IN_TEXT_RE = re.compile(r'CC-[0123456789ABCDEGHKMNPQRSTVXY]{6}')

# (lon, lat, ward_code, former_ward_code): one point well inside each of the 7 wards of 2025,
# and more points that pick out other former wards. Computed with ogrinfo (see above).
WARD_POINTS = [
    (106.4651, 10.9703, '27496', '27532'),
    (106.4813, 11.1017, '27508', '27502'),
    (106.4986, 11.0305, '27511', '27514'),
    (106.4346, 11.0365, '27526', '27505'),
    (106.5562, 10.9888, '27541', '27541'),
    (106.6102, 10.9800, '27544', '27544'),
    (106.5335, 10.9615, '27553', '27535'),
]
FORMER_POINTS = [
    (106.4475, 10.9823, '27496', '27529'),
    (106.4386, 11.0664, '27526', '27505'),
    (106.5904, 11.0142, '27544', '27523'),
    (106.6382, 10.9478, '27544', '27550'),
    (106.5154, 10.9472, '27553', '27556'),
]
# Representative point (GEOS PointOnSurface, via ogrinfo) of ward 27508.
WARD_27508_REP = (106.48126670398, 11.10173005)
SEA = (106.9, 10.3)
HCMC_CENTRE = (106.70, 10.77)
CAT = ['food', 'water', 'medical', 'cash', 'shelter', 'rescue', 'other']
STATUSES = ['new', 'assigned', 'in_progress', 'resolved', 'cancelled', 'duplicate']
CONTACT = ('name', 'phone', 'note', 'address')

_phone_seq = itertools.count(1)


def fresh_phone():
    """A Vietnamese mobile number in E.164 that no other test uses."""
    return '+8490%07d' % next(_phone_seq)


# ---- geodesy: Vincenty's inverse formula on WGS84, independent of PROJ -----------------------

def vincenty(lon1, lat1, lon2, lat2):
    a = 6378137.0
    f = 1 / 298.257223563
    b = (1 - f) * a
    L = math.radians(lon2 - lon1)
    U1 = math.atan((1 - f) * math.tan(math.radians(lat1)))
    U2 = math.atan((1 - f) * math.tan(math.radians(lat2)))
    sinU1, cosU1, sinU2, cosU2 = math.sin(U1), math.cos(U1), math.sin(U2), math.cos(U2)
    lam = L
    for _ in range(1000):
        sinlam, coslam = math.sin(lam), math.cos(lam)
        sinsig = math.hypot(cosU2 * sinlam, cosU1 * sinU2 - sinU1 * cosU2 * coslam)
        if sinsig == 0:
            return 0.0
        cossig = sinU1 * sinU2 + cosU1 * cosU2 * coslam
        sig = math.atan2(sinsig, cossig)
        sinalpha = cosU1 * cosU2 * sinlam / sinsig
        cos2alpha = 1 - sinalpha * sinalpha
        cos2sm = cossig - 2 * sinU1 * sinU2 / cos2alpha if cos2alpha else 0.0
        C = f / 16 * cos2alpha * (4 + f * (4 - 3 * cos2alpha))
        prev = lam
        lam = L + (1 - C) * f * sinalpha * (
            sig + C * sinsig * (cos2sm + C * cossig * (-1 + 2 * cos2sm * cos2sm)))
        if abs(lam - prev) < 1e-13:
            break
    u2 = cos2alpha * (a * a - b * b) / (b * b)
    A = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)))
    B = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)))
    dsig = B * sinsig * (cos2sm + B / 4 * (cossig * (-1 + 2 * cos2sm * cos2sm) - B / 6 * cos2sm * (
        -3 + 4 * sinsig * sinsig) * (-3 + 4 * cos2sm * cos2sm)))
    return b * A * (sig - dsig)


def tile_xy(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def is_snapped(v):
    return abs(v * 1000 - round(v * 1000)) < 1e-6


# ---- the server under test ---------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self._json = None

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        if self._json is None:
            self._json = json.loads(self.body.decode('utf-8'))
        return self._json


class PgServer:
    """Databases on the PostgreSQL server of an admin URI, made and dropped with psql."""

    def __init__(self, admin_uri):
        self.admin = admin_uri
        self.psql = shutil.which('psql') or '/usr/lib/postgresql/15/bin/psql'
        self.seq = itertools.count(1)
        self.template = 'hm_api_%d_template' % os.getpid()
        self.run(self.admin, 'DROP DATABASE IF EXISTS %s' % self.template)
        self.run(self.admin, 'CREATE DATABASE %s' % self.template)
        self.run(self.uri(self.template), 'CREATE EXTENSION IF NOT EXISTS postgis')

    def run(self, uri, sql):
        p = subprocess.run([self.psql, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', uri,
                            '-c', sql],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError('psql %r failed: %s' % (sql, p.stderr))
        return p.stdout

    def uri(self, db):
        """The admin URI with its database name replaced by `db`."""
        u = urllib.parse.urlsplit(self.admin)
        return urllib.parse.urlunsplit((u.scheme, u.netloc, '/' + db, u.query, u.fragment))

    def create(self, name):
        """A new database for test class `name`: PostGIS there, no table of helpmap's."""
        db = 'hm_api_%d_%d_%s' % (os.getpid(), next(self.seq),
                                  re.sub(r'[^a-z0-9]', '', name.lower())[:30])
        self.run(self.admin, 'CREATE DATABASE %s TEMPLATE %s' % (db, self.template))
        return self.uri(db)

    def drop(self, uri):
        db = urllib.parse.urlsplit(uri).path.lstrip('/')
        self.run(self.admin, 'DROP DATABASE IF EXISTS %s WITH (FORCE)' % db)

    def close(self):
        self.run(self.admin, 'DROP DATABASE IF EXISTS %s WITH (FORCE)' % self.template)


class Server:
    """One helpmap process with its own temporary database (a file, or with --pg a
    PostgreSQL database)."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix='helpmap-api-%s-' % name)
        self.db = PG.create(name) if PG else os.path.join(self.dir, 'helpmap.db')
        self.log_path = os.path.join(self.dir, 'stderr.log')
        self.proc = None
        self.port = None
        self.teams = {}
        self.seen_bodies = []

    def cli(self, *args, check=True):
        p = subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError('helpmap %s failed (%d): %s' % (' '.join(args), p.returncode,
                                                              p.stderr))
        return p

    def add_team(self, name, role, caps=()):
        args = ['team', 'add', '--db', self.db, '--name', name, '--role', role]
        for c in caps:
            args += ['--capability', c]
        out = json.loads(self.cli(*args).stdout.strip().splitlines()[-1])
        self.teams[name] = out
        return out

    def token(self, name):
        return self.teams[name]['token']

    def team_id(self, name):
        return self.teams[name]['id']

    def start(self, *extra):
        self.log = open(self.log_path, 'ab')
        cmd = [BIN, 'serve', '--db', self.db, '--port', '0', '--web', WEB, '--threads', '4']
        if '--rate-limit' not in extra:
            cmd += ['--rate-limit', '0']
        if '--phone-rate-limit' not in extra:
            cmd += ['--phone-rate-limit', '0']
        cmd += list(extra)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline().decode() if ready else ''
        m = re.search(r'listening on http://127\.0\.0\.1:(\d+)/', line)
        if not m:
            self.proc.kill()
            raise RuntimeError('server did not start: %r\n%s' % (line, self.read_log()))
        self.port = int(m.group(1))

    def stop(self):
        """SIGTERM and wait; returns the exit status."""
        if not self.proc:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return 'hung on SIGTERM'
        self.log.close()
        self.proc.stdout.close()
        return self.proc.returncode

    def read_log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        if PG:
            PG.drop(self.db)

    def sql(self, statement, args=()):
        """Run one statement on the database behind helpmap's back; `?` stands for each of
        `args` (numbers only)."""
        if not PG:
            con = sqlite3.connect(self.db)
            con.execute(statement, args)
            con.commit()
            con.close()
            return
        parts = statement.split('?')
        assert len(parts) == len(args) + 1
        for a in args:
            assert isinstance(a, (int, float)) and not isinstance(a, bool), a
        text = parts[0]
        for a, rest in zip(args, parts[1:]):
            text += repr(a) + rest
        PG.run(self.db, text)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # HTTP
    def call(self, method, path, body=None, token=None, headers=None, raw=None, timeout=60):
        h = dict(headers or {})
        if token:
            h['Authorization'] = 'Bearer ' + token
        data = raw
        if data is None and body is not None:
            data = json.dumps(body).encode('utf-8')
            h.setdefault('Content-Type', 'application/json')
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            resp = Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        self.seen_bodies.append(resp.body)
        return resp

    def get(self, path, **kw):
        return self.call('GET', path, **kw)

    def post(self, path, body=None, **kw):
        return self.call('POST', path, body=body, **kw)

    # helpers on the API
    def create(self, lon, lat, category='food', people=2, phone=None, token=None, **extra):
        body = {'lat': lat, 'lon': lon, 'category': category, 'people': people,
                'phone': phone or fresh_phone()}
        body.update(extra)
        return self.post('/api/v1/requests', body, token=token)

    def create_ok(self, lon, lat, **kw):
        r = self.create(lon, lat, **kw)
        if r.status != 201:
            raise AssertionError('create failed: %d %s' % (r.status, r.text))
        j = r.json()
        return j['request'], j['token']

    def resident_get(self, code, tok):
        r = self.get('/api/v1/requests/%s?token=%s' % (code, tok))
        if r.status != 200:
            raise AssertionError('resident GET failed: %d %s' % (r.status, r.text))
        return r.json()['request']

    def list_all(self, token=None, query='status=all&limit=10000'):
        r = self.get('/api/v1/requests?' + query, token=token)
        if r.status != 200:
            raise AssertionError('list failed: %d %s' % (r.status, r.text))
        return r.json()

    def snapshot(self):
        """Every request as a coordinator lists it (no reveal is recorded by a listing)."""
        return self.list_all(token=self.token('coord'))['features']


class ServerTest(unittest.TestCase):
    """A test class with its own server: set TEAMS, SERVE_ARGS, and optionally prepare()."""
    TEAMS = [('coord', 'coordinator', ())]
    SERVE_ARGS = ()
    srv = None

    @classmethod
    def prepare(cls, srv):
        pass

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(cls.__name__)
        for name, role, caps in cls.TEAMS:
            cls.srv.add_team(name, role, caps)
        if not cls.TEAMS:
            # Create the database (default areas) without a team.
            cls.srv.add_team('coord', 'coordinator')
        cls.prepare(cls.srv)
        cls.srv.start(*cls.SERVE_ARGS)

    @classmethod
    def tearDownClass(cls):
        srv = cls.srv
        alive = srv.alive()
        rc = srv.stop()
        log = srv.read_log()
        srv.cleanup()
        if not alive:
            raise AssertionError('%s: the server died during the tests (status %s)\n%s' %
                                 (cls.__name__, srv.proc.returncode, log[-4000:]))
        if rc != 0:
            raise AssertionError('%s: the server exited with %s on SIGTERM\n%s' %
                                 (cls.__name__, rc, log[-4000:]))
        for sign in ('runtime error:', 'Sanitizer', 'level=error'):
            if sign in log:
                raise AssertionError('%s: the server log has %r\n%s' %
                                     (cls.__name__, sign, log[-4000:]))

    # assertions
    def assertError(self, r, status, code, field=...):
        """SPEC's error format: status, {"error": {"code", "message", "field"}} exactly."""
        self.assertEqual(r.status, status, r.text[:500])
        self.assertTrue(r.headers.get('content-type', '').startswith('application/json'),
                        r.headers)
        j = r.json()
        self.assertEqual(set(j), {'error'}, j)
        e = j['error']
        self.assertEqual(set(e), {'code', 'message', 'field'}, e)
        self.assertEqual(e['code'], code, e)
        self.assertIsInstance(e['message'], str)
        self.assertTrue(e['message'], e)
        if field is not ...:
            self.assertEqual(e['field'], field, e)
        else:
            self.assertTrue(e['field'] is None or isinstance(e['field'], str), e)
        return e

    def assertNoContact(self, obj):
        for k in CONTACT:
            self.assertNotIn(k, obj, obj)


def feature_codes(fc):
    return [f['properties']['code'] for f in fc['features']]


# ---- command line ------------------------------------------------------------------------------

class CliTest(unittest.TestCase):
    """`helpmap --help` and every subcommand's --help exit 0; bad arguments exit 2 with one line."""

    def run_cli(self, *args):
        return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=60)

    def test_help_exits_0(self):
        for args in (['--help'], ['-h'], ['help'], ['serve', '--help'], ['import-areas', '--help'],
                     ['team', '--help'], ['team', 'add', '--help'], ['team', 'list', '--help'],
                     ['demo', '--help'], ['export', '--help'], ['backup', '--help'],
                     ['purge', '--help']):
            with self.subTest(args=args):
                p = self.run_cli(*args)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn('usage: helpmap', p.stdout)

    def test_main_help_lists_every_command(self):
        out = self.run_cli('--help').stdout
        for cmd in ('serve', 'import-areas', 'team', 'demo', 'export', 'backup', 'purge'):
            self.assertIn(cmd, out)

    def test_serve_help_lists_spec_flags(self):
        out = self.run_cli('serve', '--help').stdout
        for flag in ('--db', '--bind', '--port', '--web', '--threads', '--rate-limit',
                     '--trusted-proxy', '--max-connections', '--no-default-areas'):
            self.assertIn(flag, out)

    def test_bad_arguments_exit_2_with_one_line(self):
        d = tempfile.mkdtemp(prefix='helpmap-cli-')
        db = os.path.join(d, 'x.db')
        try:
            cases = [
                ['bogus'],
                ['serve', '--bogus'],
                ['serve', '--port'],
                ['serve', '--port', 'abc'],
                ['serve', '--port', '70000'],
                ['serve', '--threads', '0'],
                ['serve', '--rate-limit', '-1'],
                ['serve', '--code-prefix', 'cc'],
                ['import-areas'],
                ['import-areas', '--db', db, '--level', 'county', 'x.geojson'],
                ['import-areas', '--db', db, '--level', 'hamlet'],
                ['team', 'fly', '--db', db],
                ['team', 'add', '--db'],
                ['team', 'add', '--db', db, '--name', 'x', '--role', 'king'],
                ['team', 'add', '--db', db, '--role', 'volunteer'],
                ['team', 'disable', '--db', db],
                ['team', 'disable', '--db', db, 'abc'],
                ['demo'],
                ['demo', '--db', db, '--requests', 'many'],
                ['export', '--db', db],
                ['export', '--db', db, '--format', 'pdf'],
                ['backup', '--db', db],
                ['purge', '--db', db],
                ['purge', '--db', db, '--older-than', 'soon'],
            ]
            for args in cases:
                with self.subTest(args=args):
                    p = self.run_cli(*args)
                    self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
                    lines = p.stderr.strip().splitlines()
                    self.assertEqual(len(lines), 1, p.stderr)
                    self.assertTrue(lines[0].startswith('helpmap'), lines[0])
            self.assertFalse(os.path.exists(db), 'a refused command created the database')
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_bug_refused_team_add_created_the_database(self):
        # Symptom: `team add --role king` created (and logged creating) the database, then exited 2.
        d = tempfile.mkdtemp(prefix='helpmap-cli-')
        db = os.path.join(d, 'x.db')
        try:
            for args in (['team', 'add', '--db', db, '--name', 'x', '--role', 'king'],
                         ['team', 'add', '--db', db, '--role', 'volunteer'],
                         ['team', 'disable', '--db', db], ['team', 'rotate', '--db', db]):
                with self.subTest(args=args):
                    p = self.run_cli(*args)
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                    self.assertFalse(os.path.exists(db))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_no_command_exits_2(self):
        self.assertEqual(self.run_cli().returncode, 2)


# ---- issue 2: the resident's requests ------------------------------------------------------------

class ResidentApiTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ())]

    def valid_body(self, **kw):
        lon, lat = WARD_POINTS[6][:2]
        b = {'lat': lat, 'lon': lon, 'category': 'food', 'people': 3, 'phone': fresh_phone(),
             'note': 'cần gạo', 'name': 'Nguyễn Văn Thử'}
        b.update(kw)
        return b

    # creation and reading back
    def test_create_returns_201_with_token_and_contact(self):
        lon, lat = WARD_POINTS[0][:2]
        r = self.srv.create(lon, lat, category='medical', people=4, vulnerable=['elderly'],
                            note='Bà cụ 80 tuổi', name='Lê Thị Hoa', address='12 ấp 3',
                            location_precision='pin')
        self.assertEqual(r.status, 201, r.text)
        j = r.json()
        self.assertEqual(set(j), {'request', 'token'})
        q = j['request']
        self.assertRegex(q['code'], CODE_RE)
        self.assertGreaterEqual(len(j['token']), 32)
        self.assertEqual(q['status'], 'new')
        self.assertEqual(q['priority'], 'urgent')
        self.assertEqual(q['vulnerable'], ['elderly'])
        self.assertEqual(q['location_precision'], 'pin')
        self.assertEqual(q['source'], 'web')
        self.assertEqual(q['name'], 'Lê Thị Hoa')
        self.assertEqual(q['note'], 'Bà cụ 80 tuổi')
        self.assertEqual(q['address'], '12 ấp 3')
        self.assertAlmostEqual(q['lat'], lat, places=9)
        self.assertAlmostEqual(q['lon'], lon, places=9)
        self.assertIs(q['verified'], False)
        self.assertIsNone(q['team_id'])
        self.assertIsNone(q['duplicate_of'])
        for k in ('created_at', 'updated_at'):
            self.assertRegex(q[k], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$')
        for k in ('id', 'code', 'lat', 'lon', 'location_precision', 'category', 'people',
                  'vulnerable', 'priority', 'status', 'ward_code', 'former_ward_code',
                  'hamlet_code', 'source', 'verified', 'team_id', 'duplicate_of'):
            self.assertIn(k, q)

    def test_priority_is_computed(self):
        lon, lat = WARD_POINTS[1][:2]
        for cat, vul, want in (('food', [], 'normal'), ('rescue', [], 'urgent'),
                               ('medical', [], 'urgent'), ('cash', ['child'], 'urgent'),
                               ('water', ['pregnant', 'sick'], 'urgent')):
            with self.subTest(cat=cat, vul=vul):
                q, _ = self.srv.create_ok(lon, lat, category=cat, vulnerable=vul,
                                          priority='normal')
                self.assertEqual(q['priority'], want)

    def test_get_with_token_shows_contact_and_history(self):
        lon, lat = WARD_POINTS[2][:2]
        q, tok = self.srv.create_ok(lon, lat, name='Phạm Văn Bình', note='ghi chú')
        r = self.srv.get('/api/v1/requests/%s?token=%s' % (q['code'], tok))
        self.assertEqual(r.status, 200, r.text)
        g = r.json()['request']
        self.assertEqual(g['name'], 'Phạm Văn Bình')
        self.assertEqual(g['phone'], q['phone'])
        self.assertEqual(g['note'], 'ghi chú')
        self.assertEqual(len(g['history']), 1)
        h = g['history'][0]
        self.assertEqual(set(h) >= {'at', 'actor', 'from', 'to', 'note'}, True, h)
        self.assertEqual(h['actor'], 'resident')
        self.assertIsNone(h['from'])
        self.assertEqual(h['to'], 'new')
        # The tracking token also works as a Bearer header.
        r = self.srv.get('/api/v1/requests/%s' % q['code'], token=tok)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['request']['phone'], q['phone'])

    def test_get_wrong_or_missing_token_is_404(self):
        lon, lat = WARD_POINTS[2][:2]
        q, tok = self.srv.create_ok(lon, lat)
        for path in ('/api/v1/requests/%s' % q['code'],
                     '/api/v1/requests/%s?token=' % q['code'],
                     '/api/v1/requests/%s?token=%s' % (q['code'], 'f' * len(tok)),
                     '/api/v1/requests/%s?token=%s' % (q['code'], tok[:-1])):
            with self.subTest(path=path):
                r = self.srv.get(path)
                self.assertError(r, 404, 'not_found')
                self.assertNotIn(q['phone'][3:], r.text)

    def test_code_is_case_and_dash_insensitive(self):
        lon, lat = WARD_POINTS[3][:2]
        q, tok = self.srv.create_ok(lon, lat)
        code = q['code']
        tail = code[3:]
        for form in (code.lower(), code.replace('-', ''), tail, tail.lower(),
                     'cc-%s-%s' % (tail[:3].lower(), tail[3:])):
            with self.subTest(form=form):
                r = self.srv.get('/api/v1/requests/%s?token=%s' % (urllib.parse.quote(form), tok))
                self.assertEqual(r.status, 200, r.text)
                self.assertEqual(r.json()['request']['code'], code)
        for bad in ('CC-FFFFFF', 'CC-00000', 'CC-0000000', 'XX-' + tail, 'CC-' + tail + 'Z'):
            with self.subTest(bad=bad):
                self.assertError(self.srv.get('/api/v1/requests/%s?token=%s' % (bad, tok)), 404,
                                 'not_found')

    # validation
    def test_each_invalid_field(self):
        lon, lat = WARD_POINTS[6][:2]
        cases = [
            # (what changes in a valid body, status, code, field)
            ({'lat': None}, 400, 'invalid_field', 'lat'),
            ({'lon': None}, 400, 'invalid_field', 'lon'),
            ({'lat': '10.96'}, 400, 'invalid_field', 'lat'),
            ({'lon': '106.53'}, 400, 'invalid_field', 'lon'),
            ({'lat': True}, 400, 'invalid_field', 'lat'),
            ({'lat': [10.9]}, 400, 'invalid_field', 'lat'),
            ({'lat': 90.5}, 400, 'invalid_field', 'lat'),
            ({'lat': -91}, 400, 'invalid_field', 'lat'),
            ({'lon': 180.01}, 400, 'invalid_field', 'lon'),
            ({'lon': -181}, 400, 'invalid_field', 'lon'),
            ({'category': None}, 400, 'invalid_field', 'category'),
            ({'category': 'pizza'}, 400, 'invalid_field', 'category'),
            ({'category': 'Food'}, 400, 'invalid_field', 'category'),
            ({'category': 3}, 400, 'invalid_field', 'category'),
            ({'people': 0}, 400, 'invalid_field', 'people'),
            ({'people': 501}, 400, 'invalid_field', 'people'),
            ({'people': 2.5}, 400, 'invalid_field', 'people'),
            ({'people': -1}, 400, 'invalid_field', 'people'),
            ({'people': '3'}, 400, 'invalid_field', 'people'),
            ({'vulnerable': 'elderly'}, 400, 'invalid_field', 'vulnerable'),
            ({'vulnerable': ['elderly', 'dragon']}, 400, 'invalid_field', 'vulnerable'),
            ({'vulnerable': [1]}, 400, 'invalid_field', 'vulnerable'),
            ({'note': 'x' * 501}, 400, 'invalid_field', 'note'),
            ({'note': 'ạ' * 501}, 400, 'invalid_field', 'note'),
            ({'note': 'bell\x07'}, 400, 'invalid_field', 'note'),
            ({'note': 12}, 400, 'invalid_field', 'note'),
            ({'name': 'n' * 101}, 400, 'invalid_field', 'name'),
            ({'address': 'a' * 201}, 400, 'invalid_field', 'address'),
            ({'phone': None}, 400, 'invalid_field', 'phone'),
            ({'phone': ''}, 400, 'invalid_field', 'phone'),
            ({'phone': 'call me'}, 400, 'invalid_field', 'phone'),
            ({'phone': '12345'}, 400, 'invalid_field', 'phone'),
            ({'phone': '0909 123 45'}, 400, 'invalid_field', 'phone'),
            ({'phone': '+84 12'}, 400, 'invalid_field', 'phone'),
            ({'phone': '+0909123456'}, 400, 'invalid_field', 'phone'),
            ({'phone': 909123456}, 400, 'invalid_field', 'phone'),
            ({'location_precision': 'satellite'}, 400, 'invalid_field', 'location_precision'),
            ({'source': 'hotline'}, 403, 'forbidden', 'source'),
            ({'lat': SEA[1], 'lon': SEA[0]}, 422, 'outside_service_area', ...),
            ({'lat': HCMC_CENTRE[1], 'lon': HCMC_CENTRE[0]}, 422, 'outside_service_area', ...),
            ({'lat': 0, 'lon': 0}, 422, 'outside_service_area', ...),
        ]
        before = self.srv.snapshot()
        for change, status, code, field in cases:
            with self.subTest(change=str(change)[:60]):
                body = self.valid_body()
                for k, v in change.items():
                    if v is None:
                        body.pop(k, None)
                    else:
                        body[k] = v
                r = self.srv.post('/api/v1/requests', body)
                self.assertError(r, status, code, field)
        self.assertEqual(self.srv.snapshot(), before, 'a refused request changed the data')

    def test_lat_without_lon_and_nothing_at_all(self):
        b = self.valid_body()
        del b['lon']
        self.assertError(self.srv.post('/api/v1/requests', b), 400, 'invalid_field', 'lon')
        b = self.valid_body()
        del b['lat'], b['lon']
        self.assertError(self.srv.post('/api/v1/requests', b), 400, 'invalid_field', ...)

    def test_boundary_values_accepted(self):
        for change in ({'people': 1}, {'people': 500}, {'note': 'ạ' * 500},
                       {'name': 'n' * 100}, {'address': 'đ' * 200},
                       {'note': 'dòng 1\ndòng 2\ttab'}):
            with self.subTest(change=list(change)):
                r = self.srv.post('/api/v1/requests', self.valid_body(**change))
                self.assertEqual(r.status, 201, r.text)
                k, v = list(change.items())[0]
                self.assertEqual(r.json()['request'][k], v)

    def test_nan_and_infinity_are_bad_json(self):
        lon, lat = WARD_POINTS[6][:2]
        before = self.srv.snapshot()
        for lit in ('NaN', 'Infinity', '-Infinity', 'nan', 'inf'):
            with self.subTest(lit=lit):
                raw = ('{"lat": %s, "lon": %r, "category": "food", "people": 1, '
                       '"phone": "%s"}' % (lit, lon, fresh_phone())).encode()
                self.assertError(self.srv.post('/api/v1/requests', raw=raw), 400, 'bad_json')
        self.assertEqual(self.srv.snapshot(), before)

    def test_huge_number_is_refused(self):
        lon, lat = WARD_POINTS[6][:2]
        before = self.srv.snapshot()
        for lit in ('1e400', '-1e400'):
            for key in ('lat', 'lon'):
                with self.subTest(lit=lit, key=key):
                    b = {'lat': repr(lat), 'lon': repr(lon)}
                    b[key] = lit
                    raw = ('{"lat": %s, "lon": %s, "category": "food", "people": 1, '
                           '"phone": "%s"}' % (b['lat'], b['lon'], fresh_phone())).encode()
                    r = self.srv.post('/api/v1/requests', raw=raw)
                    # JSON cannot hold an infinite double: bad_json, or invalid_field on the key.
                    self.assertEqual(r.status, 400, r.text)
                    e = r.json()['error']
                    self.assertIn((e['code'], e['field']), (('bad_json', None),
                                                            ('invalid_field', key)))
        self.assertEqual(self.srv.snapshot(), before)

    def test_bad_json(self):
        before = self.srv.snapshot()
        for raw in (b'', b'{', b'{"lat": 10.9,}', b'[]', b'"text"', b'42', b'null',
                    b'{"lat": 10.9} trailing', b'\xff\xfe{}', b'{"note": "\xc3\x28"}',
                    b'{"lat": 1, "lat": 2}', b'\x00'):
            with self.subTest(raw=raw):
                self.assertError(self.srv.post('/api/v1/requests', raw=raw,
                                               headers={'Content-Type': 'application/json'}),
                                 400, 'bad_json', None)
        self.assertEqual(self.srv.snapshot(), before)

    def test_body_over_16_kib_is_413(self):
        before = self.srv.snapshot()
        big = json.dumps(self.valid_body(note='x' * 17000)).encode()
        self.assertGreater(len(big), 16 * 1024)
        self.assertError(self.srv.post('/api/v1/requests', raw=big), 413, 'too_large')
        self.assertEqual(self.srv.snapshot(), before)

    def test_body_over_16_kib_is_413_on_every_endpoint(self):
        big = b'{"x": "' + b'y' * (16 * 1024) + b'"}'
        for path, tok in (('/api/v1/requests/CC-000000/cancel', None), ('/report', None),
                          ('/api/v1/teams/me/location', 'vol'), ('/api/v1/areas', 'coord'),
                          ('/api/v1/requests/CC-000000/status', 'coord')):
            with self.subTest(path=path):
                r = self.srv.post(path, raw=big, token=tok and self.srv.token(tok))
                self.assertEqual(r.status, 413, r.text[:200])

    def test_bug_chunked_body_over_16_kib_got_an_empty_reply(self):
        # Symptom: a chunked body over 16 KiB was answered by a closed connection, not 413.
        before = self.srv.snapshot()
        big = json.dumps(self.valid_body(note='x' * 17000)).encode()
        conn = http.client.HTTPConnection('127.0.0.1', self.srv.port, timeout=30)
        try:
            conn.putrequest('POST', '/api/v1/requests')
            conn.putheader('Content-Type', 'application/json')
            conn.putheader('Transfer-Encoding', 'chunked')
            conn.endheaders()
            try:
                for i in range(0, len(big), 4096):
                    part = big[i:i + 4096]
                    conn.send(b'%x\r\n%s\r\n' % (len(part), part))
                conn.send(b'0\r\n\r\n')
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = conn.getresponse()
            resp = Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        self.assertError(resp, 413, 'too_large')
        self.assertEqual(self.srv.snapshot(), before)

    def test_body_of_exactly_16_kib_is_accepted(self):
        body = json.dumps(self.valid_body())
        raw = (body[:-1] + ' ' * (16 * 1024 - len(body.encode())) + '}').encode()
        self.assertEqual(len(raw), 16 * 1024)
        r = self.srv.post('/api/v1/requests', raw=raw)
        self.assertEqual(r.status, 201, r.text)

    def test_unknown_path_is_404_and_wrong_method_405(self):
        for path in ('/api/v1/nothing', '/api/v1/requests/CC-000000/explode', '/api/v2/requests',
                     '/api/v1', '/tiles/nothing/1/2/3.mvt'):
            with self.subTest(path=path):
                self.assertError(self.srv.get(path), 404, 'not_found')
        for method, path in (('PUT', '/api/v1/requests'), ('DELETE', '/api/v1/requests'),
                             ('GET', '/api/v1/requests/CC-000000/claim'),
                             ('POST', '/api/v1/stats'), ('DELETE', '/api/v1/areas'),
                             ('PATCH', '/api/v1/requests'), ('POST', '/healthz')):
            with self.subTest(method=method, path=path):
                r = self.srv.call(method, path)
                self.assertError(r, 405, 'method_not_allowed')
                self.assertIn('allow', r.headers)

    # phone numbers
    def test_phone_formats_are_normalised(self):
        lon, lat = WARD_POINTS[4][:2]
        cases = [
            ('0909 123 456', '+84909123456'),
            ('0909.123.456', '+84909123456'),
            ('0909-123-456', '+84909123456'),
            ('(0909) 123 456', '+84909123456'),
            ('+84 909 123 456', '+84909123456'),
            ('0084909123456', '+84909123456'),
            ('+84909123456', '+84909123456'),
            ('028 3892 1234', '+842838921234'),
            ('+1 202 555 0143', '+12025550143'),
            ('+84 0909 123 456', '+84909123456'),
        ]
        for i, (given, want) in enumerate(cases):
            with self.subTest(given=given):
                # One category per case keeps the duplicate rule out of the way.
                q, tok = self.srv.create_ok(lon + 0.001 * i, lat, phone=given,
                                            category=CAT[i % len(CAT)])
                self.assertEqual(q['phone'], want)
                self.assertEqual(self.srv.resident_get(q['code'], tok)['phone'], want)

    # (Second release: the 200 duplicate answer is an operator's; a public caller's repeat is an
    # ordinary 201, see test_duplicate_rule_for_the_public. The operator shows the rule here.)
    def test_bug_plus84_with_trunk_zero_was_another_phone(self):
        # Symptom: "+84 0909 ..." was stored as +840909..., so it was not "0909 ..."'s duplicate.
        lon, lat = FORMER_POINTS[3][:2]
        q, _ = self.srv.create_ok(lon, lat, phone='0909 555 111', category='food')
        r = self.srv.create(lon, lat, phone='+84 0909 555 111', category='food',
                            token=self.srv.token('op'))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['request']['code'], q['code'])

    def test_same_phone_in_two_spellings_is_a_duplicate(self):
        lon, lat = FORMER_POINTS[1][:2]
        q, tok = self.srv.create_ok(lon, lat, phone='0918 777 001', category='shelter')
        r = self.srv.create(lon, lat, phone='+84918777001', category='shelter', note='lần hai',
                            token=self.srv.token('op'))
        self.assertEqual(r.status, 200, r.text)
        self.assertIs(r.json()['duplicate'], True)
        self.assertEqual(r.json()['request']['code'], q['code'])

    # the duplicate rule (an operator's caller; the public's: test_duplicate_rule_for_the_public)
    def test_duplicate_rule(self):
        lon, lat = FORMER_POINTS[0][:2]
        phone = fresh_phone()
        q, tok = self.srv.create_ok(lon, lat, phone=phone, category='water', note='lần đầu')
        before = self.srv.snapshot()
        # 100 m away (north), same phone and category: a duplicate.
        r = self.srv.create(lon, lat + 0.0009, phone=phone, category='water',
                            note='vẫn chưa có nước', token=self.srv.token('op'))
        self.assertEqual(r.status, 200, r.text)
        j = r.json()
        self.assertEqual(set(j), {'duplicate', 'request'})
        self.assertIs(j['duplicate'], True)
        self.assertNotIn('token', j)
        self.assertEqual(j['request']['code'], q['code'])
        self.assertNoContact(j['request'])
        self.assertNotIn(phone[3:], r.text)
        after = self.srv.snapshot()
        self.assertEqual(after, before, 'a duplicate stored something besides the note')
        hist = self.srv.resident_get(q['code'], tok)['history']
        self.assertEqual(hist[-1]['note'], 'vẫn chưa có nước')
        self.assertIsNone(hist[-1]['from'])
        self.assertIsNone(hist[-1]['to'])
        self.assertEqual(hist[-1]['kind'], 'note')
        # Different category: a new request.
        r = self.srv.create(lon, lat + 0.0009, phone=phone, category='food')
        self.assertEqual(r.status, 201, r.text)
        # More than 200 m away (about 330 m): a new request.
        r = self.srv.create(lon, lat + 0.003, phone=phone, category='water')
        self.assertEqual(r.status, 201, r.text)
        # A different phone at the same place: a new request.
        r = self.srv.create(lon, lat, category='water')
        self.assertEqual(r.status, 201, r.text)

    def test_duplicate_rule_for_the_public(self):
        # SPEC (second release): a public repeat is an ordinary 201 with its own code and token,
        # stored as the earlier request's duplicate; its note reaches the earlier one only as
        # kind "repeat" by "unverified caller".
        lon, lat = FORMER_POINTS[4][:2]
        phone = fresh_phone()
        q, tok = self.srv.create_ok(lon, lat, phone=phone, category='water', note='lần đầu')
        fresh = self.srv.create(lon + 0.01, lat, category='water')
        r = self.srv.create(lon, lat + 0.0009, phone=phone, category='water', note='LẦN-HAI-77')
        self.assertEqual(r.status, 201, r.text)
        j = r.json()
        self.assertEqual(set(j), set(fresh.json()))
        self.assertEqual(set(j['request']), set(fresh.json()['request']))
        self.assertNotEqual(j['request']['code'], q['code'])
        self.assertNotIn(q['code'], r.text)
        self.assertEqual(j['request']['status'], 'new')
        self.assertIsNone(j['request']['duplicate_of'])
        coord = self.srv.get('/api/v1/requests/%s' % j['request']['code'],
                             token=self.srv.token('coord')).json()['request']
        self.assertEqual(coord['status'], 'duplicate')
        self.assertEqual(coord['duplicate_of'], q['code'])
        mine = self.srv.resident_get(j['request']['code'], j['token'])
        self.assertEqual(mine['status'], 'duplicate')
        self.assertIsNone(mine['duplicate_of'])
        hist = self.srv.get('/api/v1/requests/%s' % q['code'],
                            token=self.srv.token('coord')).json()['request']['history']
        repeats = [(h['actor'], h['note']) for h in hist if h['kind'] == 'repeat']
        self.assertEqual(repeats, [('unverified caller', 'LẦN-HAI-77')])
        self.assertNotIn('LẦN-HAI-77', json.dumps(self.srv.resident_get(q['code'], tok),
                                                  ensure_ascii=False))

    def test_duplicate_rule_ignores_closed_requests(self):
        lon, lat = FORMER_POINTS[2][:2]
        phone = fresh_phone()
        q, tok = self.srv.create_ok(lon, lat, phone=phone, category='cash')
        r = self.srv.post('/api/v1/requests/%s/cancel?token=%s' % (q['code'], tok))
        self.assertEqual(r.status, 200, r.text)
        r = self.srv.create(lon, lat, phone=phone, category='cash')
        self.assertEqual(r.status, 201, r.text)
        self.assertNotEqual(r.json()['request']['code'], q['code'])

    # address-only requests
    def test_address_only_request(self):
        r = self.srv.post('/api/v1/requests', {
            'ward_code': '27508', 'address': 'Số 5, ấp Bàu Tre', 'category': 'food',
            'people': 2, 'phone': fresh_phone()})
        self.assertEqual(r.status, 201, r.text)
        q = r.json()['request']
        self.assertEqual(q['location_precision'], 'address')
        self.assertEqual(q['ward_code'], '27508')
        self.assertIsNone(q['hamlet_code'])
        self.assertAlmostEqual(q['lon'], WARD_27508_REP[0], places=6)
        self.assertAlmostEqual(q['lat'], WARD_27508_REP[1], places=6)
        # The representative point lies in the ward: its former ward is one of 27508's.
        self.assertEqual(q['former_ward_code'], '27502')

    def test_address_only_errors(self):
        before = self.srv.snapshot()
        base = {'category': 'food', 'people': 2, 'phone': fresh_phone()}
        for extra, field in (({'ward_code': '27508'}, 'address'),
                             ({'ward_code': '99999', 'address': 'x'}, 'ward_code'),
                             ({'ward_code': 27508, 'address': 'x'}, 'ward_code'),
                             ({'ward_code': '', 'address': 'x'}, 'ward_code'),
                             ({'address': 'x'}, 'lat')):
            with self.subTest(extra=extra):
                b = dict(base)
                b.update(extra)
                self.assertError(self.srv.post('/api/v1/requests', b), 400, 'invalid_field',
                                 field)
        self.assertEqual(self.srv.snapshot(), before)

    # areas of a point
    def test_area_assignment_of_known_points(self):
        for lon, lat, ward, former in WARD_POINTS + FORMER_POINTS:
            with self.subTest(lon=lon, lat=lat):
                q, _ = self.srv.create_ok(lon, lat, category='other')
                self.assertEqual(q['ward_code'], ward)
                self.assertEqual(q['former_ward_code'], former)
                self.assertIsNone(q['hamlet_code'])

    # cancel by the resident
    def test_resident_cancels_with_token(self):
        lon, lat = WARD_POINTS[5][:2]
        q, tok = self.srv.create_ok(lon, lat)
        r = self.srv.post('/api/v1/requests/%s/cancel?token=%s' % (q['code'], 'e' * 32))
        self.assertError(r, 404, 'not_found')
        r = self.srv.post('/api/v1/requests/%s/cancel' % q['code'])
        self.assertError(r, 404, 'not_found')
        self.assertEqual(self.srv.resident_get(q['code'], tok)['status'], 'new')
        r = self.srv.post('/api/v1/requests/%s/cancel?token=%s' % (q['code'].lower(), tok),
                          {'note': 'đã có người giúp'})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['request']['status'], 'cancelled')
        g = self.srv.resident_get(q['code'], tok)
        self.assertEqual(g['status'], 'cancelled')
        h = g['history'][-1]
        self.assertEqual((h['actor'], h['from'], h['to'], h['note']),
                         ('resident', 'new', 'cancelled', 'đã có người giúp'))
        r = self.srv.post('/api/v1/requests/%s/cancel?token=%s' % (q['code'], tok))
        self.assertError(r, 409, 'invalid_transition')

    # listing
    def test_public_listing_is_snapped_and_without_contact(self):
        lon, lat = 106.53371, 10.96157
        phone = '+84977123987'
        q, _ = self.srv.create_ok(lon, lat, phone=phone, name='Hồ Thị Riêng Tư',
                                  note='ghi chú riêng', address='số 9 hẻm 4')
        r = self.srv.get('/api/v1/requests?bbox=106.52,10.95,106.55,10.97&limit=10000')
        self.assertEqual(r.status, 200, r.text)
        for s in ('977123987', '0977 123 987', 'Riêng Tư', 'ghi chú riêng', 'hẻm 4'):
            self.assertNotIn(s, r.text)
        fc = r.json()
        self.assertEqual(fc['type'], 'FeatureCollection')
        self.assertIn('next', fc)
        mine = [f for f in fc['features'] if f['properties']['code'] == q['code']]
        self.assertEqual(len(mine), 1)
        f = mine[0]
        self.assertEqual(f['geometry']['type'], 'Point')
        glon, glat = f['geometry']['coordinates']
        self.assertAlmostEqual(glon, 106.534, places=9)
        self.assertAlmostEqual(glat, 10.962, places=9)
        self.assertAlmostEqual(f['properties']['lon'], 106.534, places=9)
        self.assertAlmostEqual(f['properties']['lat'], 10.962, places=9)
        for feat in fc['features']:
            self.assertNoContact(feat['properties'])
            self.assertTrue(is_snapped(feat['geometry']['coordinates'][0]))
            self.assertTrue(is_snapped(feat['geometry']['coordinates'][1]))

    def test_listing_filters(self):
        lonA, latA = WARD_POINTS[1][:2]   # ward 27508
        lonB, latB = WARD_POINTS[3][:2]   # ward 27526
        a1, _ = self.srv.create_ok(lonA, latA, category='rescue')
        a2, t2 = self.srv.create_ok(lonA + 0.002, latA, category='water')
        b1, _ = self.srv.create_ok(lonB, latB, category='rescue')
        self.assertEqual(self.srv.post('/api/v1/requests/%s/cancel?token=%s' %
                                       (a2['code'], t2)).status, 200)

        def codes(q):
            return set(feature_codes(self.srv.list_all(query=q)))
        open_codes = codes('limit=10000')
        self.assertIn(a1['code'], open_codes)
        self.assertNotIn(a2['code'], open_codes)  # default: open only
        self.assertIn(a2['code'], codes('status=all&limit=10000'))
        self.assertIn(a2['code'], codes('status=cancelled'))
        self.assertNotIn(a1['code'], codes('status=cancelled'))
        w = codes('ward=27508&status=all&limit=10000')
        self.assertTrue({a1['code'], a2['code']} <= w)
        self.assertNotIn(b1['code'], w)
        for f in self.srv.list_all(query='ward=27526&status=all&limit=10000')['features']:
            self.assertEqual(f['properties']['ward_code'], '27526')
        c = codes('category=rescue&limit=10000')
        self.assertTrue({a1['code'], b1['code']} <= c)
        for f in self.srv.list_all(query='category=rescue&status=all')['features']:
            self.assertEqual(f['properties']['category'], 'rescue')
        bb = '%f,%f,%f,%f' % (lonA - 0.01, latA - 0.01, lonA + 0.01, latA + 0.01)
        inbox = self.srv.list_all(query='bbox=%s&status=all' % bb)['features']
        self.assertIn(a1['code'], [f['properties']['code'] for f in inbox])
        self.assertNotIn(b1['code'], [f['properties']['code'] for f in inbox])
        for f in inbox:
            x, y = f['geometry']['coordinates']
            self.assertTrue(lonA - 0.0105 <= x <= lonA + 0.0105 and
                            latA - 0.0105 <= y <= latA + 0.0105, (x, y))
        self.assertEqual(codes('since=2099-01-01T00:00:00Z&status=all'), set())
        self.assertIn(a1['code'], codes('since=2000-01-01T00:00:00Z&status=all&limit=10000'))
        self.assertIn(a1['code'], codes('since=2000-01-01T07:00:00%2B07:00&limit=10000'))

    def test_listing_cursor_pages_through_everything(self):
        lon, lat = WARD_POINTS[0][:2]
        for i in range(5):
            self.srv.create_ok(lon + 0.0005 * i, lat - 0.002)
        everything = feature_codes(self.srv.list_all())
        seen, cursor, pages = [], None, 0
        while True:
            q = 'status=all&limit=3' + ('&cursor=%s' % cursor if cursor else '')
            fc = self.srv.list_all(query=q)
            pages += 1
            self.assertLessEqual(len(fc['features']), 3)
            seen += feature_codes(fc)
            cursor = fc.get('next')
            if not cursor:
                break
            self.assertLess(pages, 1000)
        self.assertEqual(seen, everything)
        self.assertEqual(len(seen), len(set(seen)))
        ids = [f['properties']['id'] for f in self.srv.list_all()['features']]
        self.assertEqual(ids, sorted(ids))

    def test_listing_parameter_errors(self):
        for q, field in (('bbox=1,2,3', 'bbox'), ('bbox=a,b,c,d', 'bbox'),
                         ('bbox=106.6,10.9,106.5,11.0', 'bbox'), ('bbox=-200,0,0,0', 'bbox'),
                         ('status=lost', 'status'), ('category=pizza', 'category'),
                         ('since=yesterday', 'since'), ('since=2026-13-01T00:00:00Z', 'since'),
                         ('limit=0', 'limit'), ('limit=10001', 'limit'), ('limit=ten', 'limit'),
                         ('cursor=-1', 'cursor'), ('cursor=x', 'cursor')):
            with self.subTest(q=q):
                self.assertError(self.srv.get('/api/v1/requests?' + q), 400, 'invalid_field',
                                 field)
        self.assertEqual(self.srv.get('/api/v1/requests?limit=10000').status, 200)

    def test_phone_lookup_needs_operator(self):
        lon, lat = WARD_POINTS[5][:2]
        q, tok = self.srv.create_ok(lon, lat, phone='0933 444 555', category='water')
        self.assertError(self.srv.get('/api/v1/requests?phone=0933444555'), 401, 'unauthorized')
        self.assertError(self.srv.get('/api/v1/requests?phone=0933444555',
                                      token=self.srv.token('vol')), 403, 'forbidden')
        for who in ('op', 'coord'):
            with self.subTest(who=who):
                r = self.srv.get('/api/v1/requests?status=all&phone=%s' %
                                 urllib.parse.quote('+84 933 444 555'), token=self.srv.token(who))
                self.assertEqual(r.status, 200, r.text)
                feats = r.json()['features']
                self.assertEqual(feature_codes(r.json()), [q['code']])
                self.assertEqual(feats[0]['properties']['phone'], '+84933444555')
        # Each lookup that shows contact is recorded once per viewer.
        for _ in range(2):
            self.srv.get('/api/v1/requests?phone=0933444555', token=self.srv.token('op'))
        hist = self.srv.resident_get(q['code'], tok)['history']
        reveals = [h for h in hist if h.get('kind') == 'reveal' or
                   (h['from'] is None and h['to'] is None and h['actor'] != 'resident')]
        self.assertEqual(sorted(h['actor'] for h in reveals), ['coord', 'op'])

    # areas, stats, health, metrics
    def test_areas_levels_and_counts(self):
        r = self.srv.get('/api/v1/areas?level=ward')
        self.assertEqual(r.status, 200, r.text)
        wards = r.json()
        self.assertEqual(wards['type'], 'FeatureCollection')
        self.assertEqual(sorted(f['properties']['code'] for f in wards['features']),
                         sorted(p[2] for p in WARD_POINTS))
        former = self.srv.get('/api/v1/areas?level=former_ward').json()
        self.assertEqual(len(former['features']), 21)
        self.assertEqual(self.srv.get('/api/v1/areas?level=hamlet').json()['features'], [])
        self.assertEqual(len(self.srv.get('/api/v1/areas').json()['features']), 7)
        self.assertError(self.srv.get('/api/v1/areas?level=county'), 400, 'invalid_field',
                         'level')
        # Counts agree with the listing (as a coordinator sees it: unsnapped, all statuses).
        feats = self.srv.snapshot()
        for level, key, fc in (('ward', 'ward_code', wards), ('former_ward', 'former_ward_code',
                                                               former)):
            for f in fc['features']:
                p = f['properties']
                with self.subTest(level=level, code=p['code']):
                    self.assertEqual(p['level'], level)
                    self.assertIn(f['geometry']['type'], ('Polygon', 'MultiPolygon'))
                    mine = [x['properties'] for x in feats if x['properties'][key] == p['code']]
                    self.assertEqual(p['open'], sum(1 for m in mine if m['status'] in
                                                    ('new', 'assigned', 'in_progress')))
                    self.assertEqual(p['resolved'], sum(1 for m in mine
                                                        if m['status'] == 'resolved'))
                    for c in CAT:
                        self.assertEqual(p['open_by_category'][c], sum(
                            1 for m in mine if m['category'] == c and
                            m['status'] in ('new', 'assigned', 'in_progress')))

    def test_areas_count_goes_up_with_a_request(self):
        def open_of(code):
            fc = self.srv.get('/api/v1/areas?level=ward').json()
            return [f['properties'] for f in fc['features']
                    if f['properties']['code'] == code][0]
        before = open_of('27541')
        self.srv.create_ok(WARD_POINTS[4][0] + 0.003, WARD_POINTS[4][1], category='shelter')
        after = open_of('27541')
        self.assertEqual(after['open'], before['open'] + 1)
        self.assertEqual(after['open_by_category']['shelter'],
                         before['open_by_category']['shelter'] + 1)

    def test_stats(self):
        r = self.srv.get('/api/v1/stats')
        self.assertEqual(r.status, 200, r.text)
        s = r.json()
        feats = [f['properties'] for f in self.srv.snapshot()]
        self.assertEqual(s['total'], len(feats))
        for st in STATUSES:
            self.assertEqual(s['by_status'][st], sum(1 for f in feats if f['status'] == st), st)
        for c in CAT:
            self.assertEqual(s['by_category'][c], sum(1 for f in feats if f['category'] == c), c)
        self.assertEqual(s['open'], sum(1 for f in feats
                                        if f['status'] in ('new', 'assigned', 'in_progress')))
        self.assertEqual(len(s['hourly']), 24)
        self.assertEqual(sum(h['count'] for h in s['hourly']), len(feats))
        self.assertIn('median_minutes_to_resolve', s)
        wards = {w['code']: w for w in s['wards']}
        for code in {p[2] for p in WARD_POINTS}:
            self.assertIn(code, wards)
            self.assertEqual(wards[code]['open'], sum(
                1 for f in feats if f['ward_code'] == code and
                f['status'] in ('new', 'assigned', 'in_progress')))

    def test_healthz(self):
        r = self.srv.get('/healthz')
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['status'], 'ok')

    def test_metrics_is_prometheus_text(self):
        self.srv.create_ok(*WARD_POINTS[0][:2])
        self.srv.get('/api/v1/stats')
        r = self.srv.get('/metrics')
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers['content-type'].startswith('text/plain'), r.headers)
        sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|'
                            r'\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)( -?\d+)?$')
        for line in r.text.splitlines():
            if not line or line.startswith('#'):
                self.assertTrue(not line or re.match(r'^# (HELP|TYPE) ', line), line)
                continue
            self.assertRegex(line, sample)
        self.assertIn('helpmap_open_requests{ward="27496"', r.text)
        self.assertRegex(r.text, r'\n# TYPE \S+ histogram\n')

    # the no-JavaScript form
    def test_report_form(self):
        form = urllib.parse.urlencode({
            'ward_code': '27508', 'address': 'Số 7, ấp Chợ', 'category': 'water', 'people': '4',
            'phone': '0987 654 321', 'vulnerable': 'child', 'note': 'giếng hư'}).encode()
        r = self.srv.post('/report', raw=form,
                          headers={'Content-Type': 'application/x-www-form-urlencoded'})
        self.assertEqual(r.status, 201, r.text)
        self.assertTrue(r.headers['content-type'].startswith('text/html'))
        self.assertLess(len(r.body), 30 * 1024)
        m = CODE_IN_TEXT_RE.search(r.text)
        self.assertTrue(m, r.text)
        code = m.group(0)
        tok = re.search(r'token=([0-9a-f]{32})', r.text).group(1)
        q = self.srv.resident_get(code, tok)
        self.assertEqual(q['ward_code'], '27508')
        self.assertEqual(q['location_precision'], 'address')
        self.assertEqual(q['address'], 'Số 7, ấp Chợ')
        self.assertEqual(q['people'], 4)
        self.assertEqual(q['phone'], '+84987654321')
        self.assertEqual(q['vulnerable'], ['child'])
        self.assertEqual(q['priority'], 'urgent')

    def test_report_form_errors_are_html_4xx(self):
        before = self.srv.snapshot()
        for fields in ({'address': 'x', 'category': 'food', 'people': '1', 'phone': '0987654322'},
                       {'ward_code': '27508', 'address': 'x', 'category': 'food', 'people': '1',
                        'phone': 'abc'},
                       {'ward_code': '27508', 'address': 'x', 'category': 'food', 'people': '0',
                        'phone': '0987654322'}):
            with self.subTest(fields=fields):
                r = self.srv.post('/report', raw=urllib.parse.urlencode(fields).encode(),
                                  headers={'Content-Type': 'application/x-www-form-urlencoded'})
                self.assertEqual(r.status, 400, r.text)
                self.assertTrue(r.headers['content-type'].startswith('text/html'))
        self.assertEqual(self.srv.snapshot(), before)

    def test_static_pages(self):
        for path in ('/', '/team', '/operator', '/command', '/track/CC-4K7M2B'):
            with self.subTest(path=path):
                r = self.srv.get(path)
                self.assertEqual(r.status, 200)
                self.assertTrue(r.headers['content-type'].startswith('text/html'))
        for path in ('/../../etc/passwd', '/.git/config', '/%2e%2e/etc/passwd'):
            with self.subTest(path=path):
                self.assertIn(self.srv.get(path).status, (400, 404))


# ---- hamlets from a synthetic fixture -----------------------------------------------------------

class HamletTest(ServerTest):
    """Synthetic hamlets (tests/data/api_hamlets_synthetic.geojson) imported with the CLI."""
    TEAMS = [('coord', 'coordinator', ())]
    # Inside 27496-T01, inside 27496-T02, on their shared border, and in ward 27496 outside both.
    IN_T01 = (106.461, 10.967)
    IN_T02 = (106.467, 10.967)
    ON_BORDER = (106.464, 10.967)
    OUTSIDE = (106.4475, 10.9823)

    @classmethod
    def prepare(cls, srv):
        out = srv.cli('import-areas', '--db', srv.db, '--level', 'hamlet',
                      os.path.join(DATA, HAMLET_FIXTURE)).stdout
        assert 'imported 2 hamlet' in out, out

    def test_points_get_their_hamlet(self):
        for (lon, lat), want in ((self.IN_T01, '27496-T01'), (self.IN_T02, '27496-T02'),
                                 (self.ON_BORDER, '27496-T01'), (self.OUTSIDE, None)):
            with self.subTest(lon=lon, lat=lat):
                q, _ = self.srv.create_ok(lon, lat)
                self.assertEqual(q['ward_code'], '27496')
                self.assertEqual(q['hamlet_code'], want)

    def test_address_request_with_hamlet(self):
        r = self.srv.post('/api/v1/requests', {
            'ward_code': '27496', 'hamlet_code': '27496-T02', 'address': 'nhà số 3',
            'category': 'food', 'people': 1, 'phone': fresh_phone()})
        self.assertEqual(r.status, 201, r.text)
        q = r.json()['request']
        self.assertEqual(q['location_precision'], 'address')
        self.assertEqual((q['ward_code'], q['hamlet_code']), ('27496', '27496-T02'))
        self.assertTrue(106.464 < q['lon'] < 106.470 and 10.964 < q['lat'] < 10.970, q)

    def test_hamlet_of_another_ward_is_refused(self):
        before = self.srv.snapshot()
        for ward, hamlet in (('27508', '27496-T01'),):
            with self.subTest(ward=ward, hamlet=hamlet):
                r = self.srv.post('/api/v1/requests', {
                    'ward_code': ward, 'hamlet_code': hamlet, 'address': 'x',
                    'category': 'food', 'people': 1, 'phone': fresh_phone()})
                self.assertError(r, 400, 'invalid_field', 'hamlet_code')
        self.assertEqual(self.srv.snapshot(), before)

    def test_unknown_hamlet_is_kept_in_the_address(self):
        # SPEC "The pages in a crisis": a hamlet given by name that matches no hamlet is kept
        # as address text, never a reason to refuse (this was 400 in the first release).
        r = self.srv.post('/api/v1/requests', {
            'ward_code': '27496', 'hamlet_code': '27496-T99', 'address': 'x',
            'category': 'food', 'people': 1, 'phone': fresh_phone()})
        self.assertEqual(r.status, 201, r.text)
        q = r.json()['request']
        self.assertIsNone(q['hamlet_code'])
        self.assertEqual(q['address'], 'x, 27496-T99')

    def test_hamlet_level_listing_and_counts(self):
        self.srv.create_ok(self.IN_T02[0], self.IN_T02[1] + 0.001, category='medical')
        fc = self.srv.get('/api/v1/areas?level=hamlet').json()
        props = {f['properties']['code']: f['properties'] for f in fc['features']}
        self.assertEqual(sorted(props), ['27496-T01', '27496-T02'])
        feats = [f['properties'] for f in self.srv.snapshot()]
        for code, p in props.items():
            self.assertEqual(p['parent_code'], '27496')
            self.assertEqual(p['level'], 'hamlet')
            self.assertEqual(p['open'], sum(1 for f in feats if f['hamlet_code'] == code and
                                            f['status'] == 'new'))
        self.assertGreaterEqual(props['27496-T02']['open_by_category']['medical'], 1)

    def test_hamlet_tile(self):
        x, y = tile_xy(self.IN_T01[0], self.IN_T01[1], 14)
        r = self.srv.get('/tiles/hamlets/14/%d/%d.mvt' % (x, y))
        self.assertEqual(r.status, 200)
        self.assertIn(b'27496-T01', r.body)


class RobustnessTest(ServerTest):
    """Any byte sequence on any endpoint: a clear 4xx, never a 5xx, a crash or a hang."""
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ())]

    POSTS = ['/api/v1/requests', '/api/v1/requests/CC-000000/cancel',
             '/api/v1/requests/CC-000000/status', '/api/v1/requests/CC-000000/assign',
             '/api/v1/requests/CC-000000/claim', '/api/v1/requests/CC-000000/verify',
             '/api/v1/teams/me/location', '/api/v1/teams/me/status', '/api/v1/areas',
             '/api/v1/events/ticket', '/report']

    def test_random_bodies(self):
        rnd = random.Random(7)
        q, tok = self.srv.create_ok(*WARD_POINTS[0][:2])
        posts = self.POSTS + ['/api/v1/requests/%s/status' % q['code'],
                              '/api/v1/requests/%s/cancel?token=%s' % (q['code'], tok)]
        samples = [b'', b'{}', b'[]', b'null', b'{"status": null}', b'{"lat": {}}',
                   b'{"team_id": 1e300}', b'{"team_id": -1}', b'{"status": "new", "note": 5}',
                   b'{"type": "Feature", "properties": {"level": "hamlet", "code": "Z", '
                   b'"parent_code": "27496"}, "geometry": {"type": "Polygon", "coordinates": '
                   b'[[[1e308, 1e308], [1, 2]]]}}',
                   b'{"type": "Feature", "properties": {"level": "hamlet", "code": "Z", '
                   b'"parent_code": "27496"}, "geometry": {"type": "Polygon", "coordinates": '
                   b'[[]]}}',
                   b'{"type": "Feature", "properties": {"level": "ward", "code": "Z"}, '
                   b'"geometry": {"type": "MultiPolygon", "coordinates": [[[[0,0],[0,0],[0,0],'
                   b'[0,0]]]]}}',
                   b'a=1&b=%zz&c=%&ward_code=%FF%FE&phone=%00', b'\x00' * 100,
                   b'{"' + b'a' * 10000 + b'": 1}', b'[' * 5000 + b']' * 5000,
                   b'{"vulnerable": [' + b'"child",' * 1000 + b'"child"]}']
        for _ in range(150):
            samples.append(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 600))))
        for i, body in enumerate(samples):
            path = posts[i % len(posts)]
            who = (None, 'vol', 'op', 'coord')[i % 4]
            with self.subTest(i=i, path=path):
                r = self.srv.post(path, raw=body, token=who and self.srv.token(who),
                                  headers={'Content-Type': 'application/json'})
                self.assertLess(r.status, 500, r.text[:300])
        self.assertTrue(self.srv.alive())
        self.assertEqual(self.srv.get('/healthz').status, 200)

    def test_odd_paths_and_queries(self):
        code = self.srv.create_ok(*WARD_POINTS[1][:2])[0]['code']
        paths = ['/api/v1/requests/' + 'A' * 300, '/api/v1/requests/%00', '/api/v1/requests/%ff',
                 '/api/v1//requests', '/api/v1/requests/', '/api/v1/requests//claim',
                 '/api/v1/areas/hamlet/' + 'x' * 250, '/tiles/requests/99/1/1.mvt',
                 '/tiles/requests/14/-1/0.mvt', '/tiles/requests/14/99999999/0.mvt',
                 '/tiles/requests/a/b/c.mvt', '/tiles/requests/14/1/1.png', '/tiles/x.json',
                 '/tiles/requests/1/1/1/1.mvt', '/' + 'x' * 2000, '/%2e%2e/%2e%2e/etc/passwd',
                 '/api/v1/requests?bbox=nan,nan,nan,nan', '/api/v1/requests?limit=1e3',
                 '/api/v1/requests?cursor=99999999999999999999999',
                 '/api/v1/requests?since=%00', '/api/v1/requests?ward=%ff%fe',
                 '/api/v1/requests?ward=' + 'w' * 100, '/api/v1/requests?status=',
                 '/api/v1/requests?category=', '/api/v1/requests?bbox=',
                 '/api/v1/areas?level=', '/api/v1/areas?level=%00',
                 '/api/v1/requests/%s?token=%%ff' % code,
                 '/api/v1/requests/%s?token=' % code + 'a' * 3000,
                 '/api/v1/events?ticket=', '/api/v1/events?ticket=%ff',
                 '/api/v1/events?last_event_id=-1&ticket=x',
                 '/api/v1/export?format=', '/tiles/requests/14/13040/7688.mvt?status=%ff',
                 '/tiles/requests/14/13040/7688.mvt?since=x',
                 '/tiles/requests/14/13040/7688.mvt?category=x']
        for p in paths:
            for who in (None, 'coord'):
                with self.subTest(path=p[:80], who=who):
                    r = self.srv.get(p, token=who and self.srv.token(who))
                    self.assertLess(r.status, 500, r.text[:300])
        self.assertTrue(self.srv.alive())

    def test_odd_headers(self):
        for h in ({'Authorization': 'Bearer ' + 'x' * 4000},
                  {'Authorization': 'Bearer \u00ff'.encode('latin-1').decode('latin-1')},
                  {'Last-Event-ID': 'abc'}, {'Last-Event-ID': '-5'},
                  {'Last-Event-ID': '99999999999999999999999'},
                  {'X-Forwarded-For': '1.2.3.4'}, {'Content-Length': '0'},
                  {'Accept-Encoding': 'gzip, ' * 200}):
            with self.subTest(h=str(h)[:60]):
                if 'Last-Event-ID' in h:
                    s = SSE(self.srv, last_event_id=h['Last-Event-ID'])
                    st = s.status
                    s.close()
                    self.assertIn(st, (200, 400))
                    continue
                r = self.srv.get('/api/v1/requests', headers=h)
                self.assertLess(r.status, 500, r.text[:300])
        self.assertTrue(self.srv.alive())


# ---- issue 3: roles --------------------------------------------------------------------------------

class RolesTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('admin', 'admin', ()), ('op', 'operator', ()),
             ('vol', 'volunteer', ()), ('vol2', 'volunteer', ())]

    def endpoints(self, code):
        """(method, path, body, roles allowed). Bodies are invalid or codes unknown where a
        success would change something: an allowed role then gets a 400 or 404, never 401/403."""
        area = {'type': 'Feature', 'properties': {'code': 'X1', 'level': 'hamlet'},
                'geometry': None}
        return [
            ('GET', '/api/v1/requests/nearby?lat=10.96&lon=106.53', None,
             {'vol', 'coord', 'admin'}),
            ('POST', '/api/v1/requests/CC-000000/claim', None, {'vol', 'coord', 'admin'}),
            ('POST', '/api/v1/requests/%s/status' % code, {'status': 'bogus'},
             {'vol', 'coord', 'admin'}),
            ('POST', '/api/v1/requests/%s/assign' % code, {'team_id': 'x'}, {'coord', 'admin'}),
            ('GET', '/api/v1/requests/%s/responders' % code, None, {'coord', 'admin'}),
            ('POST', '/api/v1/requests/CC-000000/verify', None, {'op', 'coord', 'admin'}),
            ('POST', '/api/v1/teams/me/location', {'lat': 'x'}, {'vol', 'op', 'coord', 'admin'}),
            ('POST', '/api/v1/teams/me/status', {'status': 'x'}, {'vol', 'op', 'coord', 'admin'}),
            ('GET', '/api/v1/teams', None, {'coord', 'admin'}),
            ('GET', '/api/v1/export?format=csv', None, {'coord', 'admin'}),
            ('POST', '/api/v1/areas', area, {'coord', 'admin'}),
            ('PUT', '/api/v1/areas/hamlet/X1', area, {'coord', 'admin'}),
            ('DELETE', '/api/v1/areas/hamlet/NOPE', None, {'coord', 'admin'}),
            ('POST', '/api/v1/events/ticket', None, {'vol', 'op', 'coord', 'admin'}),
            ('GET', '/api/v1/requests?phone=0900000000', None, {'op', 'coord', 'admin'}),
        ]

    def test_every_protected_endpoint(self):
        q, tok = self.srv.create_ok(*WARD_POINTS[6][:2])
        before = self.srv.snapshot()
        for method, path, body, allowed in self.endpoints(q['code']):
            with self.subTest(method=method, path=path, who='nobody'):
                self.assertError(self.srv.call(method, path, body=body), 401, 'unauthorized')
            with self.subTest(method=method, path=path, who='bad token'):
                self.assertError(self.srv.call(method, path, body=body, token='0' * 48), 401,
                                 'unauthorized')
            with self.subTest(method=method, path=path, who='resident token'):
                self.assertError(self.srv.call(method, path, body=body, token=tok), 401,
                                 'unauthorized')
            for who in ('vol', 'op', 'coord', 'admin'):
                with self.subTest(method=method, path=path, who=who):
                    r = self.srv.call(method, path, body=body, token=self.srv.token(who))
                    if who in allowed:
                        self.assertNotIn(r.status, (401, 403), r.text)
                        self.assertLess(r.status, 500, r.text)
                    else:
                        self.assertError(r, 403, 'forbidden')
        self.assertEqual(self.srv.snapshot(), before)

    def test_disabled_team_token_is_refused(self):
        t = self.srv.add_team('gone', 'coordinator')
        self.assertEqual(self.srv.get('/api/v1/teams', token=t['token']).status, 200)
        self.srv.cli('team', 'disable', '--db', self.srv.db, str(t['id']))
        self.assertError(self.srv.get('/api/v1/teams', token=t['token']), 401, 'unauthorized')

    def test_team_rotate_and_list(self):
        t = self.srv.add_team('rotating', 'operator')
        p = self.srv.cli('team', 'rotate', '--db', self.srv.db, str(t['id']))
        new = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(new['id'], t['id'])
        self.assertNotEqual(new['token'], t['token'])
        self.assertError(self.srv.get('/api/v1/requests?phone=0900000000', token=t['token']),
                         401, 'unauthorized')
        self.assertEqual(self.srv.get('/api/v1/requests?phone=0900000000',
                                      token=new['token']).status, 200)
        out = self.srv.cli('team', 'list', '--db', self.srv.db).stdout
        self.assertIn('rotating', out)
        self.assertNotIn(new['token'], out)

    def test_malformed_authorization_header(self):
        for h in ('Basic dXNlcjpwYXNz', 'Bearer', 'token ' + self.srv.token('coord')):
            with self.subTest(h=h):
                r = self.srv.get('/api/v1/teams', headers={'Authorization': h})
                self.assertError(r, 401, 'unauthorized')

    def test_volunteer_may_not_create_operator_may_as_hotline(self):
        lon, lat = WARD_POINTS[1][:2]
        before = self.srv.snapshot()
        r = self.srv.create(lon, lat, token=self.srv.token('vol'))
        self.assertError(r, 403, 'forbidden')
        self.assertEqual(self.srv.snapshot(), before)
        q, tok = self.srv.create_ok(lon, lat, token=self.srv.token('op'))
        self.assertEqual(q['source'], 'hotline')
        self.assertEqual(self.srv.resident_get(q['code'], tok)['history'][0]['actor'], 'hotline')
        # Issue 14: what an operator types in is a hotline request; imports have their route.
        r = self.srv.create(lon + 0.001, lat, token=self.srv.token('op'), source='import')
        self.assertError(r, 400, 'invalid_field', 'source')
        q, _ = self.srv.create_ok(lon + 0.002, lat, token=self.srv.token('coord'))
        self.assertEqual(q['source'], 'hotline')
        q, _ = self.srv.create_ok(lon + 0.003, lat, source='web')
        self.assertEqual(q['source'], 'web')

    def test_verify(self):
        q, tok = self.srv.create_ok(*WARD_POINTS[2][:2])
        r = self.srv.post('/api/v1/requests/%s/verify' % q['code'], token=self.srv.token('op'))
        self.assertEqual(r.status, 200, r.text)
        self.assertIs(r.json()['request']['verified'], True)
        g = self.srv.resident_get(q['code'], tok)
        self.assertIs(g['verified'], True)
        self.assertEqual(g['history'][-1]['actor'], 'op')
        self.assertError(self.srv.post('/api/v1/requests/CC-000000/verify',
                                       token=self.srv.token('op')), 404, 'not_found')

    def test_contact_only_for_the_holding_team_and_reveals_recorded_once(self):
        q, tok = self.srv.create_ok(*WARD_POINTS[3][:2], name='Đỗ Văn Kín', note='nhà cuối hẻm',
                                    address='hẻm 12')
        path = '/api/v1/requests/%s' % q['code']
        # Before any claim a volunteer sees the request and its history, without contact.
        r = self.srv.get(path, token=self.srv.token('vol'))
        self.assertEqual(r.status, 200, r.text)
        self.assertNoContact(r.json()['request'])
        self.assertIn('history', r.json()['request'])
        self.assertEqual(self.srv.post(path + '/claim', token=self.srv.token('vol')).status, 200)
        for _ in range(3):
            r = self.srv.get(path, token=self.srv.token('vol'))
            self.assertEqual(r.status, 200, r.text)
            g = r.json()['request']
            self.assertEqual((g['name'], g['phone'], g['note'], g['address']),
                             ('Đỗ Văn Kín', q['phone'], 'nhà cuối hẻm', 'hẻm 12'))
        r = self.srv.get(path, token=self.srv.token('vol2'))
        self.assertEqual(r.status, 200, r.text)
        self.assertNoContact(r.json()['request'])
        self.assertNotIn(q['phone'][3:], r.text)
        self.assertNotIn('Kín', r.text)
        for who in ('op', 'coord', 'coord'):
            r = self.srv.get(path, token=self.srv.token(who))
            self.assertEqual(r.json()['request']['phone'], q['phone'])
        # The resident reading it is no reveal.
        self.srv.resident_get(q['code'], tok)
        hist = self.srv.resident_get(q['code'], tok)['history']
        reveals = [h['actor'] for h in hist if h['from'] is None and h['to'] is None]
        self.assertEqual(sorted(reveals), ['coord', 'op', 'vol'])

    def test_bug_resident_note_in_history_reached_other_volunteers(self):
        # Symptom: a repeated request's note and a cancellation note (the resident's own words)
        # were in the history shown to volunteers who do not hold the request.
        lon, lat = WARD_POINTS[5][:2]
        phone = fresh_phone()
        q, tok = self.srv.create_ok(lon, lat, phone=phone, category='rescue', note='first')
        r = self.srv.create(lon, lat, phone=phone, category='rescue', note='REPEAT-NOTE-0912')
        self.assertEqual(r.status, 201, r.text)  # second release: a public repeat is a 201
        c, ctok = self.srv.create_ok(lon + 0.001, lat, category='cash')
        self.assertEqual(self.srv.post('/api/v1/requests/%s/cancel?token=%s' % (c['code'], ctok),
                                       {'note': 'CANCEL-NOTE-0913'}).status, 200)
        for code, secret in ((q['code'], 'REPEAT-NOTE-0912'), (c['code'], 'CANCEL-NOTE-0913')):
            with self.subTest(code=code):
                r = self.srv.get('/api/v1/requests/%s' % code, token=self.srv.token('vol2'))
                self.assertEqual(r.status, 200, r.text)
                self.assertNotIn(secret, r.text)
                r = self.srv.get('/api/v1/requests/%s' % code, token=self.srv.token('coord'))
                self.assertIn(secret, r.text)
        # Second release: an unverified caller's words are for the request's handlers, never
        # on its resident's tracking page.
        self.assertNotIn('REPEAT-NOTE-0912', json.dumps(self.srv.resident_get(q['code'], tok),
                                                        ensure_ascii=False))

    def test_volunteer_list_and_nearby_have_no_contact(self):
        q, _ = self.srv.create_ok(*WARD_POINTS[4][:2], name='Không Hiện')
        self.srv.post('/api/v1/requests/%s/claim' % q['code'], token=self.srv.token('vol2'))
        r = self.srv.get('/api/v1/requests?limit=10000', token=self.srv.token('vol'))
        self.assertNotIn(q['phone'][3:], r.text)
        r = self.srv.get('/api/v1/requests/nearby?lat=%f&lon=%f' % WARD_POINTS[4][1::-1],
                         token=self.srv.token('vol'))
        self.assertEqual(r.status, 200, r.text)
        self.assertNotIn(q['phone'][3:], r.text)


class RateLimitTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ())]
    # Issue 14: --rate-limit counts per device (address and phone); the address as a whole has
    # its own ceiling, --address-rate-limit.
    SERVE_ARGS = ('--rate-limit', '3', '--phone-rate-limit', '2', '--address-rate-limit', '2')

    def test_public_is_rate_limited_operators_are_not(self):
        lon, lat = WARD_POINTS[0][:2]
        phone = fresh_phone()
        # Bad requests are refused before the limiter: they use up nothing.
        for _ in range(5):
            self.assertEqual(self.srv.create(lon, lat, category='pizza').status, 400)
        self.assertEqual(self.srv.create(lon, lat, phone=phone, category='food').status, 201)
        self.assertEqual(self.srv.create(lon, lat, phone=phone, category='water').status, 201)
        before = self.srv.snapshot()
        r = self.srv.create(lon, lat, phone=phone, category='cash')
        self.assertError(r, 429, 'rate_limited', 'phone')
        self.assertGreater(int(r.headers['retry-after']), 0)
        r = self.srv.create(lon, lat, category='cash')
        self.assertError(r, 429, 'rate_limited', None)
        self.assertGreater(int(r.headers['retry-after']), 0)
        self.assertEqual(self.srv.snapshot(), before)
        for i, cat in enumerate(('medical', 'shelter', 'rescue', 'other', 'cash')):
            q, _ = self.srv.create_ok(lon + 0.001 * i, lat, phone=phone, category=cat,
                                      token=self.srv.token('op'))
            self.assertEqual(q['source'], 'hotline')


# ---- issue 3: the state machine ---------------------------------------------------------------

ALLOWED = {('new', 'assigned'), ('assigned', 'assigned'), ('in_progress', 'assigned'),
           ('assigned', 'in_progress'), ('assigned', 'new'), ('in_progress', 'resolved'),
           ('in_progress', 'new'), ('new', 'cancelled'), ('assigned', 'cancelled'),
           ('in_progress', 'cancelled'), ('new', 'duplicate'), ('resolved', 'new'),
           ('cancelled', 'new'), ('duplicate', 'new')}


class TransitionTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('v1', 'volunteer', ()),
             ('v2', 'volunteer', ())]
    SERVE_ARGS = ('--claim-cap', '1000')

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.anchor, _ = cls.srv.create_ok(*WARD_POINTS[0][:2], token=cls.srv.token('op'))
        cls.n = 0

    def new_request(self):
        TransitionTest.n += 1
        lon, lat = WARD_POINTS[self.n % 7][:2]
        return self.srv.create_ok(lon + 0.0001 * (self.n % 50), lat, token=self.srv.token('op'))

    def move(self, code, to, who='coord', **extra):
        """Drive `code` to status `to` through the endpoint SPEC gives for it."""
        tok = self.srv.token(who)
        if to == 'assigned':
            if who.startswith('v'):
                return self.srv.post('/api/v1/requests/%s/claim' % code, token=tok)
            body = {'team_id': extra.get('team_id', self.srv.team_id('v2'))}
            return self.srv.post('/api/v1/requests/%s/assign' % code, body, token=tok)
        if to == 'cancelled':
            return self.srv.post('/api/v1/requests/%s/cancel' % code, token=tok)
        body = {'status': to, 'note': 'chuyển sang %s' % to}
        if to == 'duplicate':
            body['duplicate_of'] = extra.get('duplicate_of', self.anchor['code'])
        return self.srv.post('/api/v1/requests/%s/status' % code, body, token=tok)

    def request_in(self, state):
        q, tok = self.new_request()
        path = {'new': [], 'assigned': [('assigned', 'v1')],
                'in_progress': [('assigned', 'v1'), ('in_progress', 'v1')],
                'resolved': [('assigned', 'v1'), ('in_progress', 'v1'), ('resolved', 'v1')],
                'cancelled': [('cancelled', 'coord')], 'duplicate': [('duplicate', 'coord')]}
        for to, who in path[state]:
            r = self.move(q['code'], to, who)
            if r.status != 200:
                raise AssertionError('setup %s -> %s by %s: %s' % (q['code'], to, who, r.text))
        g = self.srv.resident_get(q['code'], tok)
        self.assertEqual(g['status'], state)
        return q, tok

    def test_every_pair(self):
        """Every (from, to) pair, driven through the API by a coordinator."""
        for frm in STATUSES:
            for to in STATUSES:
                with self.subTest(frm=frm, to=to):
                    q, tok = self.request_in(frm)
                    before = self.srv.resident_get(q['code'], tok)
                    r = self.move(q['code'], to)
                    after = self.srv.resident_get(q['code'], tok)
                    if (frm, to) in ALLOWED:
                        self.assertEqual(r.status, 200, r.text)
                        self.assertEqual(r.json()['request']['status'], to)
                        self.assertEqual(after['status'], to)
                        h = after['history'][-1]
                        self.assertEqual((h['actor'], h['from'], h['to']), ('coord', frm, to))
                        self.assertEqual(len(after['history']), len(before['history']) + 1)
                        if to == 'assigned':
                            self.assertEqual(after['team_id'], self.srv.team_id('v2'))
                        if to == 'new':
                            self.assertIsNone(after['team_id'])
                        if to == 'duplicate':
                            self.assertEqual(after['duplicate_of'], self.anchor['code'])
                    else:
                        self.assertError(r, 409, 'invalid_transition')
                        self.assertEqual(after, before, 'a refused move changed the request')

    def test_holder_moves_its_own_request(self):
        q, tok = self.request_in('new')
        c = q['code']
        self.assertEqual(self.move(c, 'assigned', 'v1').status, 200)
        self.assertEqual(self.move(c, 'in_progress', 'v1').status, 200)
        self.assertEqual(self.move(c, 'new', 'v1').status, 200)          # released
        self.assertEqual(self.move(c, 'assigned', 'v1').status, 200)
        self.assertEqual(self.move(c, 'new', 'v1').status, 200)          # released
        self.assertEqual(self.move(c, 'assigned', 'v1').status, 200)
        self.assertEqual(self.move(c, 'in_progress', 'v1').status, 200)
        r = self.move(c, 'resolved', 'v1')
        self.assertEqual(r.status, 200, r.text)
        g = self.srv.resident_get(c, tok)
        self.assertEqual(g['team_id'], self.srv.team_id('v1'))
        moves = [(h['actor'], h['from'], h['to']) for h in g['history'] if h['to'] is not None]
        self.assertEqual(moves, [('hotline', None, 'new'), ('v1', 'new', 'assigned'),
                                 ('v1', 'assigned', 'in_progress'), ('v1', 'in_progress', 'new'),
                                 ('v1', 'new', 'assigned'), ('v1', 'assigned', 'new'),
                                 ('v1', 'new', 'assigned'), ('v1', 'assigned', 'in_progress'),
                                 ('v1', 'in_progress', 'resolved')])
        self.assertEqual(g['history'][-1]['note'], 'chuyển sang resolved')
        # Reopening is the coordinator's.
        self.assertError(self.move(c, 'new', 'v1'), 403, 'forbidden')
        self.assertEqual(self.move(c, 'new', 'coord').status, 200)

    def test_volunteer_limits(self):
        q, tok = self.request_in('assigned')  # held by v1
        c = q['code']
        before = self.srv.resident_get(c, tok)
        for who, to in (('v2', 'in_progress'), ('v2', 'new'), ('v1', 'cancelled'),
                        ('v2', 'cancelled'), ('op', 'in_progress'), ('op', 'new')):
            with self.subTest(who=who, to=to):
                self.assertError(self.move(c, to, who), 403, 'forbidden')
        self.assertEqual(self.srv.resident_get(c, tok), before)
        q2, _ = self.request_in('new')
        self.assertError(self.move(q2['code'], 'duplicate', 'v1'), 403, 'forbidden')
        self.assertError(self.move(q2['code'], 'in_progress', 'v1'), 403, 'forbidden')
        # /status cannot assign: that is /claim or /assign.
        r = self.srv.post('/api/v1/requests/%s/status' % c, {'status': 'assigned'},
                          token=self.srv.token('coord'))
        self.assertError(r, 400, 'invalid_field', 'status')

    def test_cancel_by_each_allowed_actor(self):
        for who in ('resident', 'op', 'coord'):
            for state in ('new', 'assigned', 'in_progress'):
                with self.subTest(who=who, state=state):
                    q, tok = self.request_in(state)
                    if who == 'resident':
                        r = self.srv.post('/api/v1/requests/%s/cancel?token=%s' % (q['code'], tok))
                    else:
                        r = self.move(q['code'], 'cancelled', who)
                    self.assertEqual(r.status, 200, r.text)
                    h = self.srv.resident_get(q['code'], tok)['history'][-1]
                    self.assertEqual((h['actor'], h['from'], h['to']),
                                     ('resident' if who == 'resident' else who, state,
                                      'cancelled'))

    def test_duplicate_needs_a_valid_other_code(self):
        q, tok = self.request_in('new')
        before = self.srv.resident_get(q['code'], tok)
        for dup in (None, 'CC-000000', q['code'], 'not a code', 12):
            with self.subTest(dup=dup):
                body = {'status': 'duplicate'}
                if dup is not None:
                    body['duplicate_of'] = dup
                r = self.srv.post('/api/v1/requests/%s/status' % q['code'], body,
                                  token=self.srv.token('coord'))
                self.assertError(r, 400, 'invalid_field', 'duplicate_of')
        self.assertEqual(self.srv.resident_get(q['code'], tok), before)
        r = self.move(q['code'], 'duplicate', duplicate_of=self.anchor['code'].lower())
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['request']['duplicate_of'], self.anchor['code'])
        # Reopened, it is no one's duplicate any more.
        self.assertEqual(self.move(q['code'], 'new').status, 200)
        self.assertIsNone(self.srv.resident_get(q['code'], tok)['duplicate_of'])

    def test_assign_and_reassign(self):
        q, tok = self.request_in('new')
        c = q['code']
        r = self.move(c, 'assigned', team_id=self.srv.team_id('v1'))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()['request']['team_id'], self.srv.team_id('v1'))
        r = self.move(c, 'assigned', team_id=self.srv.team_id('v2'))
        self.assertEqual(r.status, 200, r.text)
        g = self.srv.resident_get(c, tok)
        self.assertEqual(g['team_id'], self.srv.team_id('v2'))
        self.assertEqual([(h['from'], h['to']) for h in g['history'][-2:]],
                         [('new', 'assigned'), ('assigned', 'assigned')])
        # The old holder lost it; the new one holds it.
        self.assertError(self.move(c, 'in_progress', 'v1'), 403, 'forbidden')
        self.assertEqual(self.move(c, 'in_progress', 'v2').status, 200)
        before = self.srv.resident_get(c, tok)
        for body, field in (({'team_id': 999999}, 'team_id'), ({'team_id': 'v1'}, 'team_id'),
                            ({}, 'team_id'),
                            ({'team_id': self.srv.team_id('op')}, 'team_id'),
                            ({'team_id': self.srv.team_id('coord')}, 'team_id')):
            with self.subTest(body=body):
                r = self.srv.post('/api/v1/requests/%s/assign' % c, body,
                                  token=self.srv.token('coord'))
                self.assertError(r, 400, 'invalid_field', field)
        self.assertEqual(self.srv.resident_get(c, tok), before)
        self.assertError(self.srv.post('/api/v1/requests/CC-000000/assign',
                                       {'team_id': self.srv.team_id('v1')},
                                       token=self.srv.token('coord')), 404, 'not_found')

    def test_claim_of_taken_or_closed_request(self):
        q, _ = self.request_in('assigned')
        self.assertError(self.move(q['code'], 'assigned', 'v2'), 409, 'already_claimed')
        self.assertError(self.move(q['code'], 'assigned', 'v1'), 409, 'already_claimed')
        q, _ = self.request_in('resolved')
        self.assertError(self.move(q['code'], 'assigned', 'v2'), 409, 'invalid_transition')
        self.assertError(self.srv.post('/api/v1/requests/CC-000000/claim',
                                       token=self.srv.token('v1')), 404, 'not_found')

    def test_team_is_busy_while_it_holds_a_request(self):
        t = self.srv.add_team('v3', 'volunteer')
        tok = t['token']

        def status():
            teams = self.srv.get('/api/v1/teams', token=self.srv.token('coord')).json()
            return [f['properties']['status'] for f in teams['features']
                    if f['properties']['id'] == t['id']][0]
        self.assertEqual(status(), 'available')
        q, _ = self.new_request()
        self.assertEqual(self.srv.post('/api/v1/requests/%s/claim' % q['code'],
                                       token=tok).status, 200)
        self.assertEqual(status(), 'busy')
        self.srv.post('/api/v1/requests/%s/status' % q['code'], {'status': 'new'}, token=tok)
        self.assertEqual(status(), 'available')


class ClaimRaceTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ())] + [
        ('racer%02d' % i, 'volunteer', ()) for i in range(16)] + [('capped', 'volunteer', ())]
    SERVE_ARGS = ('--claim-cap', '2', '--threads', '8')

    def claim_all_at_once(self, code, teams):
        barrier = threading.Barrier(len(teams))
        results = {}

        def claim(name):
            conn = http.client.HTTPConnection('127.0.0.1', self.srv.port, timeout=60)
            conn.connect()
            try:
                barrier.wait(timeout=30)
                conn.request('POST', '/api/v1/requests/%s/claim' % code,
                             headers={'Authorization': 'Bearer ' + self.srv.token(name)})
                r = conn.getresponse()
                results[name] = Resp(r.status, r.getheaders(), r.read())
            finally:
                conn.close()
        threads = [threading.Thread(target=claim, args=(n,)) for n in teams]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        return results

    def test_sixteen_teams_claim_at_once(self):
        racers = ['racer%02d' % i for i in range(16)]
        for round_ in range(3):
            with self.subTest(round=round_):
                q, tok = self.srv.create_ok(*WARD_POINTS[round_][:2], token=self.srv.token('op'))
                results = self.claim_all_at_once(q['code'], racers)
                self.assertEqual(len(results), 16)
                winners = [n for n, r in results.items() if r.status == 200]
                self.assertEqual(len(winners), 1, {n: r.status for n, r in results.items()})
                for n, r in results.items():
                    if n != winners[0]:
                        self.assertError(r, 409, 'already_claimed')
                g = self.srv.resident_get(q['code'], tok)
                self.assertEqual(g['status'], 'assigned')
                self.assertEqual(g['team_id'], self.srv.team_id(winners[0]))
                claims = [h for h in g['history'] if h['to'] == 'assigned']
                self.assertEqual(len(claims), 1)
                self.assertEqual(claims[0]['actor'], winners[0])
                # The winner hands it back, so that no racer reaches the claim
                # cap (--claim-cap 2) and answers claim_limit in a later round.
                r = self.srv.post('/api/v1/requests/%s/status' % q['code'], {'status': 'new'},
                                  token=self.srv.token(winners[0]))
                self.assertEqual(r.status, 200, r.text)

    def test_claim_cap(self):
        tok = self.srv.token('capped')
        codes = []
        for i in range(3):
            q, _ = self.srv.create_ok(WARD_POINTS[4][0] + 0.001 * i, WARD_POINTS[4][1],
                                      token=self.srv.token('op'))
            codes.append(q['code'])
        self.assertEqual(self.srv.post('/api/v1/requests/%s/claim' % codes[0], token=tok).status,
                         200)
        self.assertEqual(self.srv.post('/api/v1/requests/%s/claim' % codes[1], token=tok).status,
                         200)
        before = self.srv.snapshot()
        self.assertError(self.srv.post('/api/v1/requests/%s/claim' % codes[2], token=tok), 409,
                         'claim_limit')
        self.assertError(self.srv.post('/api/v1/requests/%s/assign' % codes[2],
                                       {'team_id': self.srv.team_id('capped')},
                                       token=self.srv.token('coord')), 409, 'claim_limit')
        self.assertEqual(self.srv.snapshot(), before)
        # Releasing one makes room.
        r = self.srv.post('/api/v1/requests/%s/status' % codes[0], {'status': 'new'}, token=tok)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.srv.post('/api/v1/requests/%s/claim' % codes[2], token=tok).status,
                         200)


class ClaimTimeoutTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('v1', 'volunteer', ())]
    SERVE_ARGS = ('--claim-timeout', '1')

    def wait_status(self, code, tok, want, limit_s=30):
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            g = self.srv.resident_get(code, tok)
            if g['status'] == want:
                return g
            time.sleep(0.2)
        self.fail('%s did not become %s within %d s' % (code, want, limit_s))

    def test_unstarted_claim_returns_to_new(self):
        op, v1 = self.srv.token('op'), self.srv.token('v1')
        stream = SSE(self.srv, token=self.srv.token('coord'))
        try:
            started, stok = self.srv.create_ok(*WARD_POINTS[1][:2], token=op)
            q, tok = self.srv.create_ok(*WARD_POINTS[0][:2], token=op)
            self.assertEqual(self.srv.post('/api/v1/requests/%s/claim' % started['code'],
                                           token=v1).status, 200)
            self.assertEqual(self.srv.post('/api/v1/requests/%s/status' % started['code'],
                                           {'status': 'in_progress'}, token=v1).status, 200)
            self.assertEqual(self.srv.post('/api/v1/requests/%s/claim' % q['code'],
                                           token=v1).status, 200)
            g = self.wait_status(q['code'], tok, 'new')
            self.assertIsNone(g['team_id'])
            h = g['history'][-1]
            self.assertEqual((h['actor'], h['from'], h['to']), ('system', 'assigned', 'new'))
            ev = stream.wait(lambda e: e['event'] == 'request.updated' and
                             e['data'].get('code') == q['code'] and
                             e['data'].get('status') == 'new')
            self.assertIsNotNone(ev, 'no request.updated event for the time-out')
            # The started one (started before this claim) stays in progress.
            self.assertEqual(self.srv.resident_get(started['code'], stok)['status'],
                             'in_progress')
        finally:
            stream.close()


# ---- nearby and responders ------------------------------------------------------------------------

class NearbyTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('vol', 'volunteer', ()),
             ('t1', 'volunteer', ()), ('t2', 'volunteer', ()), ('t3off', 'volunteer', ()),
             ('t4cap', 'volunteer', ()), ('t5boat', 'volunteer', ('boat', 'medical')),
             ('t6stale', 'volunteer', ('boat',)), ('t7nopos', 'volunteer', ()),
             ('t8busy', 'volunteer', ())]
    SERVE_ARGS = ('--claim-cap', '1')
    CENTRE = (106.5335, 10.9615)  # ward 27553, 2 km from its boundary

    @classmethod
    def prepare(cls, srv):
        # A team whose last position is 31 minutes old.
        srv.sql('UPDATE team SET lon = ?, lat = ?, pos_at = ? WHERE id = ?',
                (cls.CENTRE[0] + 0.0001, cls.CENTRE[1], int((time.time() - 31 * 60) * 1000),
                 srv.team_id('t6stale')))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.srv
        rnd = random.Random(20211)
        cls.points = {}
        op = srv.token('op')
        for i in range(60):
            lon = cls.CENTRE[0] + rnd.uniform(-0.01, 0.01)
            lat = cls.CENTRE[1] + rnd.uniform(-0.01, 0.01)
            q, _ = srv.create_ok(lon, lat, category=CAT[i % 7], token=op)
            cls.points[q['code']] = (lon, lat, q['category'])
        codes = sorted(cls.points)
        # Close a few: closed requests are not nearby.
        cls.closed = set(codes[:6])
        for c in cls.closed:
            r = srv.post('/api/v1/requests/%s/cancel' % c, token=srv.token('coord'))
            assert r.status == 200, r.text

    def nearby(self, query, token=None):
        return self.srv.get('/api/v1/requests/nearby?' + query,
                            token=token or self.srv.token('vol'))

    def brute(self, lon, lat, radius, category=None):
        out = []
        for code, (x, y, cat) in self.points.items():
            if code in self.closed or (category and cat != category):
                continue
            d = vincenty(lon, lat, x, y)
            if d <= radius:
                out.append((d, code))
        return sorted(out)

    def test_vincenty_reference(self):
        # Vincenty (1975), Flinders Peak to Buninyong: 54 972.271 m.
        d = vincenty(144 + 25 / 60 + 29.52440 / 3600, -(37 + 57 / 60 + 3.72030 / 3600),
                     143 + 55 / 60 + 35.38390 / 3600, -(37 + 39 / 60 + 10.15610 / 3600))
        self.assertAlmostEqual(d, 54972.271, delta=0.002)

    def test_nearest_first_with_geodesic_distances(self):
        for (lon, lat), radius in ((self.CENTRE, 1500), ((106.5301, 10.9589), 900),
                                   ((106.5402, 10.9677), 50000)):
            with self.subTest(lon=lon, lat=lat, radius=radius):
                r = self.nearby('lat=%r&lon=%r&radius_m=%d&limit=500' % (lat, lon, radius))
                self.assertEqual(r.status, 200, r.text)
                fc = r.json()
                self.assertEqual(fc['type'], 'FeatureCollection')
                got = [(f['properties']['distance_m'], f['properties']['code'])
                       for f in fc['features']]
                want = self.brute(lon, lat, radius)
                # Points within 0.5 m of the radius may fall either way.
                sure = [c for d, c in want if d < radius - 0.5]
                self.assertTrue(set(sure) <= {c for _, c in got})
                self.assertTrue({c for _, c in got} <= {c for _, c in want} | {
                    c for c, (x, y, _) in self.points.items()
                    if abs(vincenty(lon, lat, x, y) - radius) < 0.5})
                ds = [d for d, _ in got]
                self.assertEqual(ds, sorted(ds))
                for d, c in got:
                    x, y, _ = self.points[c]
                    self.assertLess(abs(d - vincenty(lon, lat, x, y)), 0.5, c)
                for f in fc['features']:
                    self.assertIn(f['properties']['status'], ('new', 'assigned', 'in_progress'))
                    self.assertNoContact(f['properties'])

    def test_limit_and_category(self):
        lon, lat = self.CENTRE
        r = self.nearby('lat=%r&lon=%r&limit=5' % (lat, lon))
        self.assertEqual(r.status, 200, r.text)
        want = [c for _, c in self.brute(lon, lat, 5000)][:5]
        self.assertEqual(feature_codes(r.json()), want)
        r = self.nearby('lat=%r&lon=%r&category=medical' % (lat, lon))
        got = feature_codes(r.json())
        self.assertEqual(got, [c for _, c in self.brute(lon, lat, 5000, 'medical')][:50])
        self.assertTrue(all(self.points[c][2] == 'medical' for c in got))
        # Default radius 5 km and limit 50.
        r = self.nearby('lat=%r&lon=%r' % (lat, lon))
        self.assertEqual(len(r.json()['features']), min(50, len(self.brute(lon, lat, 5000))))

    def test_parameter_bounds(self):
        lon, lat = self.CENTRE
        for q, field in (('lon=%r' % lon, 'lat'), ('lat=%r' % lat, 'lon'),
                         ('lat=91&lon=%r' % lon, 'lat'), ('lat=x&lon=%r' % lon, 'lat'),
                         ('lat=nan&lon=%r' % lon, 'lat'), ('lat=%r&lon=inf' % lat, 'lon'),
                         ('lat=%r&lon=%r&radius_m=0' % (lat, lon), 'radius_m'),
                         ('lat=%r&lon=%r&radius_m=50001' % (lat, lon), 'radius_m'),
                         ('lat=%r&lon=%r&radius_m=-5' % (lat, lon), 'radius_m'),
                         ('lat=%r&lon=%r&limit=0' % (lat, lon), 'limit'),
                         ('lat=%r&lon=%r&limit=501' % (lat, lon), 'limit'),
                         ('lat=%r&lon=%r&category=pizza' % (lat, lon), 'category')):
            with self.subTest(q=q):
                self.assertError(self.nearby(q), 400, 'invalid_field', field)
        for q in ('radius_m=50000', 'limit=500', 'radius_m=1', 'limit=1'):
            with self.subTest(q=q):
                self.assertEqual(self.nearby('lat=%r&lon=%r&%s' % (lat, lon, q)).status, 200)
        r = self.nearby('lat=%r&lon=%r&radius_m=1' % (lat, lon))
        self.assertEqual(r.json()['features'], [])

    def test_responders(self):
        srv = self.srv
        lon, lat = self.CENTRE
        q, _ = srv.create_ok(lon, lat, category='rescue', token=srv.token('op'))
        self.points[q['code']] = (lon, lat, 'rescue')
        offsets = {'t1': (0.004, 0), 't2': (0, 0.008), 't3off': (0.0005, 0),
                   't4cap': (0.0006, 0), 't5boat': (-0.006, 0.002), 't8busy': (0.0007, 0)}
        pos = {}
        for name, (dx, dy) in offsets.items():
            pos[name] = (lon + dx, lat + dy)
            r = srv.post('/api/v1/teams/me/location', {'lat': lat + dy, 'lon': lon + dx},
                         token=srv.token(name))
            self.assertEqual(r.status, 200, r.text)
            self.assertAlmostEqual(r.json()['team']['lat'], lat + dy)
        self.assertEqual(srv.post('/api/v1/teams/me/status', {'status': 'off'},
                                  token=srv.token('t3off')).json()['team']['status'], 'off')
        self.assertEqual(srv.post('/api/v1/teams/me/status', {'status': 'busy'},
                                  token=srv.token('t8busy')).json()['team']['status'], 'busy')
        # t4cap holds one request (the cap is 1) and says it is available.
        other = sorted(set(self.points) - self.closed)[-1]
        self.assertEqual(srv.post('/api/v1/requests/%s/claim' % other,
                                  token=srv.token('t4cap')).status, 200)
        self.assertEqual(srv.post('/api/v1/teams/me/status', {'status': 'available'},
                                  token=srv.token('t4cap')).status, 200)
        path = '/api/v1/requests/%s/responders' % q['code']
        r = srv.get(path, token=srv.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        got = [(f['properties']['name'], f['properties']['distance_m'])
               for f in r.json()['features']]
        want = sorted((vincenty(lon, lat, *pos[n]), n) for n in ('t1', 't2', 't5boat'))
        self.assertEqual([n for n, _ in got], [n for _, n in want])
        for (n, d), (wd, _) in zip(got, want):
            self.assertLess(abs(d - wd), 0.5, n)
        r = srv.get(path + '?k=1', token=srv.token('coord'))
        self.assertEqual([f['properties']['name'] for f in r.json()['features']], [want[0][1]])
        r = srv.get(path + '?capability=boat', token=srv.token('coord'))
        self.assertEqual([f['properties']['name'] for f in r.json()['features']], ['t5boat'])
        r = srv.get(path + '?capability=helicopter', token=srv.token('coord'))
        self.assertEqual(r.json()['features'], [])
        for k in ('0', '51', 'x'):
            self.assertError(srv.get(path + '?k=' + k, token=srv.token('coord')), 400,
                             'invalid_field', 'k')
        self.assertError(srv.get('/api/v1/requests/CC-000000/responders',
                                 token=srv.token('coord')), 404, 'not_found')

    def test_team_location_and_status_validation(self):
        tok = self.srv.token('t7nopos')
        for body, field in (({'lon': 106.5}, 'lat'), ({'lat': 10.9}, 'lon'),
                            ({'lat': '10.9', 'lon': 106.5}, 'lat'),
                            ({'lat': 95, 'lon': 106.5}, 'lat'),
                            ({'lat': 10.9, 'lon': 190}, 'lon')):
            with self.subTest(body=body):
                self.assertError(self.srv.post('/api/v1/teams/me/location', body, token=tok), 400,
                                 'invalid_field', field)
        for body in ({'status': 'sleeping'}, {}, {'status': 1}):
            with self.subTest(body=body):
                self.assertError(self.srv.post('/api/v1/teams/me/status', body, token=tok), 400,
                                 'invalid_field', 'status')
        self.assertError(self.srv.post('/api/v1/teams/me/status', raw=b'{', token=tok), 400,
                         'bad_json')

    def test_teams_geojson(self):
        r = self.srv.post('/api/v1/teams/me/location', {'lat': 10.97, 'lon': 106.52},
                          token=self.srv.token('t1'))
        self.assertEqual(r.status, 200)
        r = self.srv.get('/api/v1/teams', token=self.srv.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        fc = r.json()
        self.assertEqual(fc['type'], 'FeatureCollection')
        by = {f['properties']['name']: f for f in fc['features']}
        self.assertTrue({n for n, _, _ in self.TEAMS} <= set(by))
        t1 = by['t1']
        self.assertEqual(t1['geometry']['type'], 'Point')
        self.assertAlmostEqual(t1['geometry']['coordinates'][0], 106.52)
        self.assertAlmostEqual(t1['geometry']['coordinates'][1], 10.97)
        self.assertIn(t1['properties']['status'], ('available', 'busy', 'off'))
        self.assertEqual(by['t5boat']['properties']['capabilities'], ['boat', 'medical'])
        self.assertIsNone(by['t7nopos']['geometry'])
        self.assertEqual(by['coord']['properties']['role'], 'coordinator')
        self.assertNotIn('token', r.text)
        for tok in (t['token'] for t in self.srv.teams.values()):
            self.assertNotIn(tok, r.text)


# ---- live events -----------------------------------------------------------------------------------

class SSE:
    """A reader of GET /api/v1/events on its own connection and thread."""

    def __init__(self, srv, token=None, last_event_id=None, query=''):
        self.events = []
        self.lines = []
        self.cv = threading.Condition()
        self.done = False
        self.conn = http.client.HTTPConnection('127.0.0.1', srv.port, timeout=60)
        headers = {'Accept': 'text/event-stream'}
        if token:
            headers['Authorization'] = 'Bearer ' + token
        if last_event_id is not None:
            headers['Last-Event-ID'] = str(last_event_id)
        self.conn.request('GET', '/api/v1/events' + query, headers=headers)
        self.sock = self.conn.sock
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        if self.status != 200:
            self.body = self.resp.read()
            self.conn.close()
            self.done = True
            return
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        cur = {}
        data = []
        try:
            while True:
                raw = self.resp.readline()
                if not raw:
                    break
                line = raw.decode('utf-8').rstrip('\n').rstrip('\r')
                with self.cv:
                    self.lines.append(line)
                if line == '':
                    if data:
                        cur['data'] = json.loads('\n'.join(data))
                        with self.cv:
                            self.events.append(cur)
                            self.cv.notify_all()
                    cur, data = {}, []
                    continue
                if line.startswith(':'):
                    continue
                key, _, value = line.partition(':')
                if value.startswith(' '):
                    value = value[1:]
                if key == 'data':
                    data.append(value)
                elif key == 'id':
                    cur['id'] = int(value)
                elif key == 'event':
                    cur['event'] = value
        except Exception:  # the stream ended or close() cut it
            pass
        finally:
            with self.cv:
                self.done = True
                self.cv.notify_all()

    def wait(self, pred, timeout=15):
        """The first event that satisfies pred, waiting up to `timeout` s; None if none came."""
        def find():
            for e in self.events:
                if pred(e):
                    return e
            return None
        with self.cv:
            self.cv.wait_for(lambda: find() is not None or self.done, timeout)
            return find()

    def snapshot(self):
        with self.cv:
            return list(self.events)

    def text(self):
        with self.cv:
            return '\n'.join(self.lines)

    def close(self):
        if self.done and not getattr(self, 'thread', None):
            return
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()
        if getattr(self, 'thread', None):
            self.thread.join(10)


def created(code):
    return lambda e: e.get('event') == 'request.created' and e['data'].get('code') == code


class EventsTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ()), ('va', 'volunteer', ()),
             ('vb', 'volunteer', ())]
    SERVE_ARGS = ('--alert-teams', '1')
    P = (106.4986, 11.0305)   # ward 27511: team va stands here
    Q = (106.6102, 10.9800)   # ward 27544: team vb stands here

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, (lon, lat) in (('va', cls.P), ('vb', cls.Q)):
            r = cls.srv.post('/api/v1/teams/me/location', {'lat': lat, 'lon': lon},
                             token=cls.srv.token(name))
            assert r.status == 200, r.text

    def test_public_stream_gets_request_created(self):
        s = SSE(self.srv)
        try:
            self.assertEqual(s.status, 200)
            self.assertTrue(s.headers['content-type'].startswith('text/event-stream'))
            lon, lat = 106.49876, 11.03044
            q, _ = self.srv.create_ok(lon, lat, name='Tên Bí Mật', note='ghi chú kín',
                                      category='cash')
            ev = s.wait(created(q['code']))
            self.assertIsNotNone(ev, s.text())
            self.assertIn('id', ev)
            self.assertNoContact(ev['data'])
            self.assertAlmostEqual(ev['data']['lon'], 106.499, places=9)
            self.assertAlmostEqual(ev['data']['lat'], 11.030, places=9)
            self.assertEqual(ev['data']['status'], 'new')
            # The frame: "id: N", "event: request.created", "data: {...}", then a blank line.
            lines = [re.sub(r'^(\w+):(?! )', r'\1: ', x) for x in s.text().split('\n')]
            i = lines.index('id: %d' % ev['id'])
            self.assertEqual(lines[i + 1], 'event: request.created')
            self.assertTrue(lines[i + 2].startswith('data: {'), lines[i + 2])
            self.assertEqual(json.loads(lines[i + 2][6:])['code'], q['code'])
            self.assertEqual(lines[i + 3], '')
            text = s.text()
            self.assertNotIn(q['phone'][3:], text)
            self.assertNotIn('Bí Mật', text)
            # A claim is a request.updated, with the new status.
            self.assertEqual(self.srv.post('/api/v1/requests/%s/claim' % q['code'],
                                           token=self.srv.token('va')).status, 200)
            ev2 = s.wait(lambda e: e.get('event') == 'request.updated' and
                         e['data'].get('code') == q['code'])
            self.assertIsNotNone(ev2)
            self.assertEqual(ev2['data']['status'], 'assigned')
            self.assertGreater(ev2['id'], ev['id'])
            self.srv.post('/api/v1/requests/%s/status' % q['code'], {'status': 'new'},
                          token=self.srv.token('va'))
        finally:
            s.close()

    def test_ids_increase(self):
        s = SSE(self.srv)
        try:
            codes = [self.srv.create_ok(*WARD_POINTS[i][:2], category='other')[0]['code']
                     for i in range(3)]
            evs = [s.wait(created(c)) for c in codes]
            self.assertTrue(all(evs))
            ids = [e['id'] for e in s.snapshot()]
            self.assertEqual(ids, sorted(ids))
            self.assertEqual(len(ids), len(set(ids)))
        finally:
            s.close()

    def test_last_event_id_resume(self):
        s = SSE(self.srv)
        try:
            first, _ = self.srv.create_ok(*WARD_POINTS[0][:2], category='water')
            ev = s.wait(created(first['code']))
            self.assertIsNotNone(ev)
        finally:
            s.close()
        missed = [self.srv.create_ok(*WARD_POINTS[i][:2], category='water')[0]['code']
                  for i in (1, 2)]
        s2 = SSE(self.srv, last_event_id=ev['id'])
        try:
            for c in missed:
                self.assertIsNotNone(s2.wait(created(c)), s2.text())
            got = [e['data'].get('code') for e in s2.snapshot()
                   if e.get('event') == 'request.created']
            self.assertNotIn(first['code'], got)
            self.assertLess(got.index(missed[0]), got.index(missed[1]))
            self.assertTrue(all(e['id'] > ev['id'] for e in s2.snapshot()))
        finally:
            s2.close()

    def test_ticket_works_once(self):
        self.assertError(self.srv.post('/api/v1/events/ticket'), 401, 'unauthorized')
        r = self.srv.post('/api/v1/events/ticket', token=self.srv.token('va'))
        self.assertEqual(r.status, 200, r.text)
        t = r.json()
        self.assertEqual(set(t), {'ticket', 'expires_in'})
        self.assertTrue(0 < t['expires_in'] <= 60)
        s = SSE(self.srv, query='?ticket=' + t['ticket'])
        try:
            self.assertEqual(s.status, 200)
            # The ticket stream is va's: it gets the alert for a request next to va.
            q, _ = self.srv.create_ok(self.P[0] + 0.001, self.P[1], category='food')
            self.assertIsNotNone(s.wait(lambda e: e.get('event') == 'request.alert' and
                                        e['data'].get('code') == q['code']), s.text())
        finally:
            s.close()
        again = SSE(self.srv, query='?ticket=' + t['ticket'])
        self.assertEqual(again.status, 401)
        err = json.loads(again.body)['error']
        self.assertEqual((err['code'], err['field']), ('unauthorized', 'ticket'))
        bogus = SSE(self.srv, query='?ticket=' + '0' * 48)
        self.assertEqual(bogus.status, 401)

    def test_alert_reaches_only_the_nearest_team(self):
        sa = SSE(self.srv, token=self.srv.token('va'))
        sb = SSE(self.srv, token=self.srv.token('vb'))
        try:
            near_a, _ = self.srv.create_ok(self.P[0] + 0.002, self.P[1], category='rescue')
            ea = sa.wait(lambda e: e.get('event') == 'request.alert' and
                         e['data'].get('code') == near_a['code'])
            self.assertIsNotNone(ea, sa.text())
            self.assertNoContact(ea['data'])
            near_b, _ = self.srv.create_ok(self.Q[0] + 0.002, self.Q[1], category='rescue')
            eb = sb.wait(lambda e: e.get('event') == 'request.alert' and
                         e['data'].get('code') == near_b['code'])
            self.assertIsNotNone(eb, sb.text())
            # Events arrive in order: by now vb would have had the alert for near_a.
            self.assertFalse([e for e in sb.snapshot() if e.get('event') == 'request.alert' and
                              e['data'].get('code') == near_a['code']])
            # Both streams got both creations (teams see every request.created).
            for s in (sa, sb):
                self.assertIsNotNone(s.wait(created(near_b['code'])))
        finally:
            sa.close()
            sb.close()

    def test_team_moved_reaches_coordinators_only(self):
        sc = SSE(self.srv, token=self.srv.token('coord'))
        sp = SSE(self.srv)
        sv = SSE(self.srv, token=self.srv.token('vb'))
        try:
            r = self.srv.post('/api/v1/teams/me/location', {'lat': self.P[1], 'lon': self.P[0]},
                              token=self.srv.token('va'))
            self.assertEqual(r.status, 200)
            em = sc.wait(lambda e: e.get('event') == 'team.moved' and
                         e['data'].get('name') == 'va')
            self.assertIsNotNone(em, sc.text())
            self.assertNotIn(self.srv.token('va'), sc.text())
            q, _ = self.srv.create_ok(*WARD_POINTS[5][:2], category='other')
            for s in (sp, sv):
                self.assertIsNotNone(s.wait(created(q['code'])))
                self.assertFalse([e for e in s.snapshot() if e.get('event') == 'team.moved'])
        finally:
            for s in (sc, sp, sv):
                s.close()


class EscalationTest(ServerTest):
    """request.alert to the next team when nobody claims in time; the subscriber cap."""
    TEAMS = [('coord', 'coordinator', ()), ('va', 'volunteer', ()), ('vb', 'volunteer', ()),
             ('vc', 'volunteer', ())]
    SERVE_ARGS = ('--alert-teams', '1', '--alert-escalate', '1', '--max-subscribers', '3')
    P = (106.5335, 10.9615)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # va next to P, vb 2 km away, vc 8 km away.
        for name, dx in (('va', 0.001), ('vb', 0.018), ('vc', 0.072)):
            r = cls.srv.post('/api/v1/teams/me/location',
                             {'lat': cls.P[1], 'lon': cls.P[0] + dx}, token=cls.srv.token(name))
            assert r.status == 200, r.text

    def alerts(self, s, code):
        return [e for e in s.snapshot() if e.get('event') == 'request.alert' and
                e['data'].get('code') == code]

    def test_escalation_and_subscriber_cap(self):
        streams = {n: SSE(self.srv, token=self.srv.token(n)) for n in ('va', 'vb', 'vc')}
        try:
            self.assertTrue(all(s.status == 200 for s in streams.values()))
            # Past the cap: 503 unavailable.
            extra = SSE(self.srv)
            self.assertEqual(extra.status, 503)
            e = json.loads(extra.body)['error']
            self.assertEqual(e['code'], 'unavailable')
            # A request claimed at once is not escalated; one left alone is, to the next team.
            claimed, _ = self.srv.create_ok(self.P[0], self.P[1] + 0.001, category='food')
            self.assertEqual(self.srv.post('/api/v1/requests/%s/claim' % claimed['code'],
                                           token=self.srv.token('va')).status, 200)
            self.srv.post('/api/v1/teams/me/status', {'status': 'available'},
                          token=self.srv.token('va'))
            alone, _ = self.srv.create_ok(self.P[0], self.P[1], category='water')
            va, vb, vc = streams['va'], streams['vb'], streams['vc']
            self.assertIsNotNone(va.wait(lambda e: e.get('event') == 'request.alert' and
                                         e['data'].get('code') == alone['code']))
            got = vb.wait(lambda e: e.get('event') == 'request.alert' and
                          e['data'].get('code') == alone['code'], timeout=30)
            self.assertIsNotNone(got, 'the next team was not alerted')
            self.assertEqual(self.alerts(vb, claimed['code']), [])
            self.assertEqual(len(self.alerts(va, alone['code'])), 1)
            # vc is third: with --alert-teams 1 it is not alerted. A request next to vc
            # shows that its stream is live and in order.
            near_c, _ = self.srv.create_ok(self.P[0] + 0.072, self.P[1], category='cash')
            self.assertIsNotNone(vc.wait(lambda e: e.get('event') == 'request.alert' and
                                         e['data'].get('code') == near_c['code']))
            self.assertEqual(self.alerts(vc, alone['code']), [])
        finally:
            for s in streams.values():
                s.close()
        # Closed streams free their places (noticed at the next event).
        deadline = time.monotonic() + 30
        while True:
            self.srv.create_ok(self.P[0], self.P[1] + 0.004, category='other')
            again = SSE(self.srv)
            if again.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        again.close()
        self.assertEqual(again.status, 200)


# ---- export ------------------------------------------------------------------------------------------

class ExportTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('vol', 'volunteer', ())]
    NOTE = 'Cần gạo, nước "sạch"\ndòng 2: cụ bà 80 tuổi'
    NAME = 'Nguyễn Thị Ánh, "Út"'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.q, _ = cls.srv.create_ok(*WARD_POINTS[0][:2], note=cls.NOTE, name=cls.NAME,
                                     address='ấp 3; xã Tân An Hội', vulnerable=['child', 'sick'])
        cls.q2, _ = cls.srv.create_ok(*WARD_POINTS[1][:2], note='=HYPERLINK("x")')

    def export(self, fmt):
        r = self.srv.get('/api/v1/export?format=' + fmt, token=self.srv.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        return r

    def test_csv(self):
        r = self.export('csv')
        self.assertTrue(r.headers['content-type'].startswith('text/csv'))
        self.assertIn('attachment', r.headers.get('content-disposition', ''))
        self.assertTrue(r.body.startswith(b'\xef\xbb\xbf'), r.body[:10])
        text = r.body.decode('utf-8-sig')
        quoted = '"%s"' % self.NOTE.replace('"', '""')
        self.assertIn(quoted, text)
        rows = list(csv.reader(io.StringIO(text, newline='')))
        head = rows[0]
        for k in ('id', 'code', 'lat', 'lon', 'category', 'people', 'vulnerable', 'priority',
                  'note', 'name', 'address', 'phone', 'status', 'ward_code', 'former_ward_code',
                  'hamlet_code', 'source', 'verified', 'team_id', 'duplicate_of', 'created_at',
                  'updated_at', 'location_precision'):
            self.assertIn(k, head)
        by_code = {row[head.index('code')]: dict(zip(head, row)) for row in rows[1:]}
        row = by_code[self.q['code']]
        self.assertEqual(row['note'], self.NOTE)
        self.assertEqual(row['name'], self.NAME)
        self.assertEqual(row['phone'], self.q['phone'])
        self.assertEqual(row['ward_code'], '27496')
        self.assertEqual(len(rows), 3)
        self.assertTrue(all(len(x) == len(head) for x in rows))
        # RFC 4180 line ends.
        self.assertTrue(text.split('\n')[0].endswith('\r'))
        # A note that looks like a formula is not run by a spreadsheet.
        self.assertFalse(by_code[self.q2['code']]['note'].startswith('='))

    def test_geojson(self):
        r = self.export('geojson')
        fc = json.loads(r.body.decode('utf-8'))
        self.assertEqual(fc['type'], 'FeatureCollection')
        by = {f['properties']['code']: f for f in fc['features']}
        p = by[self.q['code']]['properties']
        self.assertEqual((p['note'], p['name'], p['phone']), (self.NOTE, self.NAME,
                                                              self.q['phone']))
        self.assertEqual(sorted(p['vulnerable']), ['child', 'sick'])
        self.assertAlmostEqual(by[self.q['code']]['geometry']['coordinates'][0],
                               WARD_POINTS[0][0], places=6)

    def test_kml(self):
        r = self.export('kml')
        root = ET.fromstring(r.body)
        ns = {'k': 'http://www.opengis.net/kml/2.2'}
        marks = root.findall('.//k:Placemark', ns)
        self.assertEqual(len(marks), 2)
        texts = {}
        for m in marks:
            name = m.find('k:name', ns).text
            data = {d.get('name'): (d.find('k:value', ns).text or '')
                    for d in m.findall('.//k:Data', ns)}
            texts[name] = data
            coords = m.find('.//k:coordinates', ns).text.split(',')
            self.assertEqual(len(coords), 2)
        self.assertEqual(texts[self.q['code']]['note'], self.NOTE)
        self.assertEqual(texts[self.q['code']]['phone'], self.q['phone'])

    def test_bad_format_and_roles(self):
        self.assertError(self.srv.get('/api/v1/export?format=pdf', token=self.srv.token('coord')),
                         400, 'invalid_field', 'format')
        self.assertError(self.srv.get('/api/v1/export?format=csv', token=self.srv.token('vol')),
                         403, 'forbidden')

    def test_cli_export_matches(self):
        p = self.srv.cli('export', '--db', self.srv.db, '--format', 'csv')
        self.assertTrue(p.stdout.startswith('\ufeff'))
        self.assertIn(self.q['code'], p.stdout)
        out = os.path.join(self.srv.dir, 'out.geojson')
        self.srv.cli('export', '--db', self.srv.db, '--format', 'geojson', '--out', out)
        with open(out, encoding='utf-8') as f:
            self.assertEqual(len(json.load(f)['features']), 2)


# ---- areas API ---------------------------------------------------------------------------------------

def point_in_geometry(pt, geom):
    """Even-odd ray casting over every ring of a GeoJSON (Multi)Polygon."""
    polys = [geom['coordinates']] if geom['type'] == 'Polygon' else geom['coordinates']
    x, y = pt
    inside = False
    for poly in polys:
        for ring in poly:
            for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
                if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                    inside = not inside
    return inside


def rect(x0, y0, x1, y1):
    return {'type': 'Polygon', 'coordinates': [[[x0, y0], [x1, y0], [x1, y1], [x0, y1],
                                                [x0, y0]]]}


def hamlet_feature(code, geom, parent='27496', name=None, level='hamlet'):
    return {'type': 'Feature', 'properties': {'code': code, 'name': name or 'Ấp %s (synthetic)'
                                              % code, 'level': level, 'parent_code': parent},
            'geometry': geom}


class AreasApiTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ())]
    # A rectangle that crosses from ward 27496 into 27553 (east of about 106.4998 at 10.97).
    CROSSING = rect(106.495, 10.965, 106.505, 10.975)
    INSIDE = (106.497, 10.967)       # ward 27496, inside the rectangle
    CLIPPED_AWAY = (106.500, 10.970)  # ward 27553, inside the rectangle

    def hamlets(self):
        fc = self.srv.get('/api/v1/areas?level=hamlet').json()
        return {f['properties']['code']: f for f in fc['features']}

    def post_area(self, feat):
        return self.srv.post('/api/v1/areas', feat, token=self.srv.token('coord'))

    def test_lifecycle(self):
        srv = self.srv
        coord = srv.token('coord')
        before_q, before_tok = srv.create_ok(*self.INSIDE, category='food')
        self.assertIsNone(before_q['hamlet_code'])
        # POST: clipped to the ward; the requests inside are reassigned.
        r = self.post_area(hamlet_feature('HX', self.CROSSING))
        self.assertEqual(r.status, 201, r.text)
        a = r.json()
        self.assertEqual(a['area']['properties']['code'], 'HX')
        self.assertEqual(a['area']['properties']['parent_code'], '27496')
        self.assertGreaterEqual(a['reassigned'], 1)
        geom = a['area']['geometry']
        self.assertTrue(point_in_geometry(self.INSIDE, geom))
        self.assertFalse(point_in_geometry(self.CLIPPED_AWAY, geom))  # that part is in 27553
        self.assertEqual(srv.resident_get(before_q['code'], before_tok)['hamlet_code'], 'HX')
        q_in, _ = srv.create_ok(self.INSIDE[0], self.INSIDE[1] + 0.001, category='water')
        self.assertEqual(q_in['hamlet_code'], 'HX')
        q_out, _ = srv.create_ok(*self.CLIPPED_AWAY, category='water')
        self.assertEqual(q_out['ward_code'], '27553')
        self.assertIsNone(q_out['hamlet_code'])
        self.assertEqual(self.hamlets()['HX']['properties']['open'], 2)
        # An overlapping sibling is refused, naming HX; nothing changes.
        hamlets_before = self.hamlets()
        r = self.post_area(hamlet_feature('HY', rect(106.490, 10.960, 106.498, 10.968)))
        e = self.assertError(r, 409, 'overlap')
        self.assertIn('HX', e['message'])
        self.assertEqual(self.hamlets(), hamlets_before)
        # A sibling beside it is fine.
        r = self.post_area(hamlet_feature('HZ', rect(106.480, 10.960, 106.490, 10.966)))
        self.assertEqual(r.status, 201, r.text)
        # The same code again is a conflict; PUT replaces.
        self.assertError(self.post_area(hamlet_feature('HX', rect(106.496, 10.966, 106.499,
                                                                   10.969))), 409, 'in_use',
                         'code')
        r = srv.call('PUT', '/api/v1/areas/hamlet/HX',
                     hamlet_feature('HX', rect(106.4965, 10.9665, 106.4985, 10.9675)),
                     token=coord)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(srv.resident_get(before_q['code'], before_tok)['hamlet_code'], 'HX')
        g = srv.get('/api/v1/requests?status=all&limit=10000', token=coord).json()
        now_in = [f['properties']['code'] for f in g['features']
                  if f['properties']['hamlet_code'] == 'HX']
        self.assertEqual(now_in, [before_q['code']])  # q_in (10.968) is outside the new shape
        self.assertError(srv.call('PUT', '/api/v1/areas/hamlet/NOPE',
                                  hamlet_feature('NOPE', rect(106.47, 10.96, 106.475, 10.962)),
                                  token=coord), 404, 'not_found')
        self.assertError(srv.call('PUT', '/api/v1/areas/hamlet/HX',
                                  hamlet_feature('HQ', rect(106.47, 10.96, 106.475, 10.962)),
                                  token=coord), 400, 'invalid_field', 'code')
        # DELETE: refused while requests point to it, unless ?reassign=true.
        self.assertError(srv.call('DELETE', '/api/v1/areas/hamlet/HX', token=coord), 409,
                         'in_use')
        self.assertIn('HX', self.hamlets())
        r = srv.call('DELETE', '/api/v1/areas/hamlet/HX?reassign=true', token=coord)
        self.assertEqual(r.status, 200, r.text)
        self.assertNotIn('HX', self.hamlets())
        self.assertIsNone(srv.resident_get(before_q['code'], before_tok)['hamlet_code'])
        q3, _ = srv.create_ok(self.INSIDE[0], self.INSIDE[1], category='cash')
        self.assertIsNone(q3['hamlet_code'])
        self.assertError(srv.call('DELETE', '/api/v1/areas/hamlet/HX', token=coord), 404,
                         'not_found')
        # An unused area goes without ?reassign.
        r = srv.call('DELETE', '/api/v1/areas/hamlet/HZ', token=coord)
        self.assertEqual(r.status, 200, r.text)

    def test_invalid_areas(self):
        before = self.hamlets()
        cases = [
            (hamlet_feature('H1', rect(106.47, 10.96, 106.475, 10.962), parent='99999'), 400,
             'invalid_field', 'parent_code'),
            (hamlet_feature('H1', rect(106.47, 10.96, 106.475, 10.962), parent=None), 400,
             'invalid_field', 'parent_code'),
            (hamlet_feature('H1', rect(106.47, 10.96, 106.475, 10.962), level='county'), 400,
             'invalid_field', 'level'),
            # Entirely in another ward: nothing is left after clipping.
            (hamlet_feature('H1', rect(106.60, 10.97, 106.61, 10.98)), 400, 'invalid_field', ...),
            (hamlet_feature('H1', {'type': 'Point', 'coordinates': [106.47, 10.96]}), 400,
             'invalid_field', ...),
            (hamlet_feature('H1', None), 400, 'invalid_field', ...),
            (hamlet_feature('', rect(106.47, 10.96, 106.475, 10.962)), 400, 'invalid_field',
             'code'),
        ]
        for feat, status, code, field in cases:
            with self.subTest(feat=json.dumps(feat)[:120]):
                self.assertError(self.post_area(feat), status, code, field)
        self.assertError(self.srv.post('/api/v1/areas', raw=b'{',
                                       token=self.srv.token('coord')), 400, 'bad_json')
        self.assertError(self.srv.call('DELETE', '/api/v1/areas/county/X',
                                       token=self.srv.token('coord')), 400, 'invalid_field',
                         'level')
        self.assertEqual(self.hamlets(), before)

    def test_bow_tie_is_repaired(self):
        bow = {'type': 'Polygon', 'coordinates': [[[106.470, 10.975], [106.475, 10.978],
                                                   [106.475, 10.975], [106.470, 10.978],
                                                   [106.470, 10.975]]]}
        r = self.post_area(hamlet_feature('HB', bow))
        self.assertEqual(r.status, 201, r.text)
        self.assertIs(r.json()['area']['properties']['repaired'], True)
        self.assertIn('HB', self.hamlets())


# ---- privacy --------------------------------------------------------------------------------------------

class PrivacyTest(ServerTest):
    TEAMS = [('coord', 'coordinator', ()), ('vol', 'volunteer', ()), ('vol2', 'volunteer', ()),
             ('op', 'operator', ())]
    PHONE = '0912 345 678'
    SECRETS = ['912345678', '0912 345 678', '0912345678', '+84912345678',
               'Trần Thị Bí Mật', 'GHI-CHU-RIENG-TU-42', 'DIA-CHI-RIENG-TU-77']
    POINT = (106.52391, 10.96213)  # ward 27553

    def secrets_in(self, blob):
        if isinstance(blob, str):
            blob = blob.encode('utf-8')
        found = [s for s in self.SECRETS if s.encode('utf-8') in blob]
        found += [s for s in self.SECRETS if json.dumps(s)[1:-1].encode() in blob and
                  json.dumps(s)[1:-1] != s]
        return found

    def test_contact_data_appears_in_no_public_response_event_or_log(self):
        srv = self.srv
        public = SSE(srv)
        team_stream = SSE(srv, token=srv.token('vol2'))
        try:
            lon, lat = self.POINT
            r = srv.post('/api/v1/requests', {
                'lat': lat, 'lon': lon, 'category': 'medical', 'people': 2,
                'phone': self.PHONE, 'name': 'Trần Thị Bí Mật', 'note': 'GHI-CHU-RIENG-TU-42',
                'address': 'DIA-CHI-RIENG-TU-77', 'vulnerable': ['elderly']})
            self.assertEqual(r.status, 201, r.text)
            q, tok = r.json()['request'], r.json()['token']
            code = q['code']
            self.assertIsNotNone(public.wait(created(code)))
            self.assertIsNotNone(team_stream.wait(created(code)))
            # Things happen to it: a claim, a reveal to the holder, a move.
            self.assertEqual(srv.post('/api/v1/requests/%s/claim' % code,
                                      token=srv.token('vol')).status, 200)
            self.assertEqual(srv.get('/api/v1/requests/%s' % code,
                                     token=srv.token('vol')).json()['request']['name'],
                             'Trần Thị Bí Mật')
            srv.get('/api/v1/requests?phone=0912345678', token=srv.token('op'))
            srv.post('/api/v1/requests/%s/status' % code, {'status': 'in_progress'},
                     token=srv.token('vol'))
            self.assertIsNotNone(public.wait(lambda e: e.get('event') == 'request.updated' and
                                             e['data'].get('status') == 'in_progress'))
            # A duplicate, and refused requests carrying the same contact data.
            dup = srv.post('/api/v1/requests', {
                'lat': lat, 'lon': lon, 'category': 'medical', 'people': 2,
                'phone': '+84912345678', 'name': 'Trần Thị Bí Mật',
                'note': 'GHI-CHU-RIENG-TU-42'})
            # Second release: an ordinary 201 that names no earlier request; its own contact
            # fields are the caller's own input, so only the earlier request's code is checked.
            self.assertEqual(dup.status, 201, dup.text)
            self.assertNotIn(code.encode(), dup.body)
            public_bodies = {}
            for i, bad in enumerate(({'category': 'pizza'}, {'people': 0},
                                     {'phone': '0912 345 678 x'}, {'lat': 'x'},
                                     {'note': 'GHI-CHU-RIENG-TU-42' * 40},
                                     {'lat': SEA[1], 'lon': SEA[0]})):
                body = {'lat': lat, 'lon': lon, 'category': 'medical', 'people': 2,
                        'phone': self.PHONE, 'name': 'Trần Thị Bí Mật',
                        'note': 'GHI-CHU-RIENG-TU-42'}
                body.update(bad)
                rr = srv.post('/api/v1/requests', body)
                self.assertGreaterEqual(rr.status, 400)
                public_bodies['refused %d' % i] = rr.body
            form = urllib.parse.urlencode({'ward_code': '27553', 'address': 'DIA-CHI-RIENG-TU-77',
                                           'category': 'pizza', 'people': '1',
                                           'phone': self.PHONE}).encode()
            public_bodies['report error'] = srv.post(
                '/report', raw=form,
                headers={'Content-Type': 'application/x-www-form-urlencoded'}).body
            paths = ['/api/v1/requests', '/api/v1/requests?status=all&limit=10000',
                     '/api/v1/requests?category=medical', '/api/v1/requests?ward=27553',
                     '/api/v1/requests?bbox=106.5,10.95,106.55,10.97',
                     '/api/v1/areas?level=ward', '/api/v1/areas?level=former_ward',
                     '/api/v1/areas?level=hamlet', '/api/v1/stats', '/healthz', '/metrics',
                     '/api/v1/requests/%s' % code,
                     '/api/v1/requests/%s?token=%s' % (code, 'a' * 32),
                     '/api/v1/requests?phone=0912345678', '/tiles/requests.json']
            for z in range(10, 17):
                x, y = tile_xy(lon, lat, z)
                for dx, dy in ((0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)):
                    paths.append('/tiles/requests/%d/%d/%d.mvt' % (z, x + dx, y + dy))
                    paths.append('/tiles/requests/%d/%d/%d.mvt?status=all' % (z, x + dx, y + dy))
                paths.append('/tiles/wards/%d/%d/%d.mvt' % (z, x, y))
                paths.append('/tiles/former_wards/%d/%d/%d.mvt' % (z, x, y))
            n_tiles = 0
            for p in paths:
                rr = srv.get(p)
                self.assertLess(rr.status, 500, p)
                if '.mvt' in p and rr.status == 200:
                    n_tiles += 1
                public_bodies[p] = rr.body
            self.assertGreater(n_tiles, 10)
            # A volunteer that does not hold it.
            public_bodies['other volunteer'] = srv.get('/api/v1/requests/%s' % code,
                                                       token=srv.token('vol2')).body
            public_bodies['other volunteer nearby'] = srv.get(
                '/api/v1/requests/nearby?lat=%r&lon=%r' % (lat, lon),
                token=srv.token('vol2')).body
            # Tile point features carry the request's public fields.
            x, y = tile_xy(lon, lat, 16)
            self.assertIn(code.encode(), srv.get('/tiles/requests/16/%d/%d.mvt' % (x, y)).body)
            for name, body in public_bodies.items():
                with self.subTest(response=name):
                    self.assertEqual(self.secrets_in(body), [], body[:300])
            # Events, public and team.
            for name, s in (('public stream', public), ('team stream', team_stream)):
                with self.subTest(stream=name):
                    self.assertEqual(self.secrets_in(s.text()), [])
                    for e in s.snapshot():
                        self.assertNoContact(e['data'])
        finally:
            public.close()
            team_stream.close()
        # The log, after a clean shutdown (everything is flushed).
        rc = srv.stop()
        self.assertEqual(rc, 0)
        log = srv.read_log()
        self.assertIn('event=access', log)
        self.assertEqual(self.secrets_in(log), [])
        self.assertNotIn(tok, log)
        for t in srv.teams.values():
            self.assertNotIn(t['token'], log)
        self.assertNotIn('token=', log)
        srv.start(*self.SERVE_ARGS)  # for tearDownClass


# ---- PostGIS only ----------------------------------------------------------------------------------------

class PgReconnectTest(ServerTest):
    """With --pg: the server's connections dropped (a restart of PostgreSQL, a network cut)
    cost no answer: reads and the writer's next transaction go on new connections."""
    TEAMS = [('coord', 'coordinator', ()), ('op', 'operator', ())]

    @classmethod
    def setUpClass(cls):
        if not PG:
            raise unittest.SkipTest('PostgreSQL only (--pg)')
        super().setUpClass()

    def drop_connections(self):
        db = urllib.parse.urlsplit(self.srv.db).path.lstrip('/')
        out = PG.run(PG.admin, "SELECT count(pg_terminate_backend(pid, 5000)) FROM "
                     "pg_stat_activity WHERE datname = '%s' AND application_name = 'helpmap'" % db)
        return int(out.strip())

    def test_lost_connections_cost_no_answer(self):
        q, tok = self.srv.create_ok(*WARD_POINTS[0][:2], token=self.srv.token('op'))
        self.assertEqual(self.srv.resident_get(q['code'], tok)['status'], 'new')
        self.assertGreaterEqual(self.drop_connections(), 2)  # a worker's and the writer's
        self.assertEqual(self.srv.resident_get(q['code'], tok)['status'], 'new')
        q2, tok2 = self.srv.create_ok(*WARD_POINTS[1][:2], token=self.srv.token('op'))
        r = self.srv.post('/api/v1/requests/%s/cancel?token=%s' % (q2['code'], tok2))
        self.assertEqual(r.status, 200, r.text)
        codes = feature_codes(self.srv.list_all(token=self.srv.token('coord')))
        self.assertIn(q['code'], codes)
        self.assertIn(q2['code'], codes)
        self.assertIn('event=db_reconnected', self.srv.read_log())


# ---- main ---------------------------------------------------------------------------------------------

def main():
    global BIN, WEB, DATA, PG
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', required=True, help='the helpmap binary')
    ap.add_argument('--web', required=True, help='the web/ directory')
    ap.add_argument('--data', required=True, help='tests/data')
    ap.add_argument('--pg', action='store_true',
                    help='PostGIS databases on the server of $HM_TEST_PG_URI instead of files')
    args, rest = ap.parse_known_args()
    BIN = os.path.abspath(args.bin)
    WEB = os.path.abspath(args.web)
    DATA = os.path.abspath(args.data)
    if args.pg:
        if not os.environ.get('HM_TEST_PG_URI'):
            print('api_test: skipped: --pg without HM_TEST_PG_URI (run it under scripts/pg.sh run)',
                  file=sys.stderr)
            sys.exit(77)
        PG = PgServer(os.environ['HM_TEST_PG_URI'])
    t0 = time.monotonic()
    try:
        prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    finally:
        if PG:
            PG.close()
    print('api_test%s: %d tests, %d failures, %d errors, %d skipped in %.1f s' % (
        ' (PostGIS)' if PG else '', prog.result.testsRun, len(prog.result.failures),
        len(prog.result.errors), len(prog.result.skipped), time.monotonic() - t0))
    sys.exit(0 if prog.result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
