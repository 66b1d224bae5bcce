#!/usr/bin/python3
"""test_migrate.py: `helpmap migrate --db FILE --to postgresql://…` (SPEC "Beyond one machine").

A SpatiaLite database is filled the way a district fills it — the demo load, requests from
residents and the hotline with their tracking tokens, claims, moves, edits, merges, reveals,
verifications, "I am safe now", a relief point, hamlets, teams added, rotated and disabled —
and every answer a client could ask for is recorded. Then the file is copied into an empty
PostGIS database, a server is started on it, and the same questions must get the same
answers: lists, each request with its history (as a coordinator, and as the resident with the
old tracking token), counts, stats, areas, teams, team tokens, places, relief points, nearby,
tiles. New rows continue after the copied ids and events after the copied change log. A
target that already holds data is refused; a copy that fails leaves the target empty and can
run again.

Run by ctest through scripts/pg.sh run (a throwaway PostgreSQL on 127.0.0.1):
    scripts/pg.sh run python3 tests/server/test_migrate.py --bin BUILD/helpmap --web WEB \\
        --data tests/data
Exits 77 (skipped) without PostgreSQL. Loopback only.
"""
import argparse
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test as A  # noqa: E402  the harness: Server, Resp, SSE, PgServer, points

PGS = None  # the PostgreSQL server (A.PgServer) the targets are made on

# Every helpmap table of the SpatiaLite file that is copied.
TABLES = ('area', 'team', 'request', 'history', 'history_chain', 'change', 'place', 'point',
          'audit', 'idempotency')


def migrate(src, uri):
    return subprocess.run([A.BIN, 'migrate', '--db', src, '--to', uri], capture_output=True,
                          text=True, timeout=300)


def sqlite_counts(path):
    con = sqlite3.connect(path)
    try:
        return {t: con.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0] for t in TABLES}
    finally:
        con.close()


def pg_counts(uri):
    out = PGS.run(uri, ' UNION ALL '.join("SELECT '%s', count(*) FROM \"%s\"" % (t, t)
                                          for t in TABLES))
    return {ln.split('|')[0]: int(ln.split('|')[1]) for ln in out.split()}


def _varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if c < 0x80:
            return v, i


def _fields(b):
    """The (field, value) pairs of one protobuf message (varints and bytes)."""
    i, out = 0, []
    while i < len(b):
        k, i = _varint(b, i)
        if k & 7 == 0:
            v, i = _varint(b, i)
        elif k & 7 == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif k & 7 == 1:
            v, i = b[i:i + 8], i + 8
        else:
            v, i = b[i:i + 4], i + 4
        out.append((k >> 3, v))
    return out


def mvt_features(body):
    """The features of a vector tile, each (layer, id, geometry, sorted tags), sorted."""
    if body[:2] == b'\x1f\x8b':
        body = gzip.decompress(body)
    feats = []
    for _, layer in _fields(body):
        lf = _fields(layer)
        name = [v for f, v in lf if f == 1][0]
        keys = [v for f, v in lf if f == 3]
        vals = [v for f, v in lf if f == 4]
        for f, feat in lf:
            if f != 2:
                continue
            ff = _fields(feat)
            tags = [v for k, v in ff if k == 2]
            t, j, pairs = tags[0] if tags else b'', 0, []
            while j < len(t):
                a, j = _varint(t, j)
                c, j = _varint(t, j)
                pairs.append((keys[a], vals[c]))
            feats.append((name, [v for k, v in ff if k == 1], [v for k, v in ff if k == 4],
                          sorted(pairs)))
    return sorted(feats)


def pg_server(name, uri):
    """A harness Server on the PostgreSQL database `uri` (the harness makes files otherwise)."""
    s = A.Server(name)
    s.db = uri
    return s


class MigrateCliTest(unittest.TestCase):
    """Arguments: bad ones exit 2 with one line and touch nothing."""

    def run_cli(self, *args):
        return subprocess.run([A.BIN] + list(args), capture_output=True, text=True, timeout=60)

    def test_help(self):
        p = self.run_cli('migrate', '--help')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('usage: helpmap migrate --db FILE --to postgresql://', p.stdout)
        self.assertIn('migrate', self.run_cli('--help').stdout)

    def test_bad_arguments_exit_2_with_one_line(self):
        d = tempfile.mkdtemp(prefix='helpmap-migrate-cli-')
        db = os.path.join(d, 'x.db')
        try:
            for args in (['migrate'], ['migrate', '--db', db], ['migrate', '--to', 'postgresql://h/d'],
                         ['migrate', '--db'], ['migrate', '--bogus'],
                         ['migrate', '--db', db, '--to', os.path.join(d, 'y.db')],
                         ['migrate', '--db', 'postgresql://h/a', '--to', 'postgresql://h/b']):
                with self.subTest(args=args):
                    p = self.run_cli(*args)
                    self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
                    lines = p.stderr.strip().splitlines()
                    self.assertEqual(len(lines), 1, p.stderr)
                    self.assertTrue(lines[0].startswith('helpmap'), lines[0])
            self.assertEqual(os.listdir(d), [], 'a refused command created a file')
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_missing_source_is_an_error_and_is_not_created(self):
        d = tempfile.mkdtemp(prefix='helpmap-migrate-cli-')
        uri = PGS.create('missingsource')
        try:
            p = migrate(os.path.join(d, 'none.db'), uri)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn('no database at', p.stderr)
            self.assertEqual(os.listdir(d), [])
        finally:
            shutil.rmtree(d, ignore_errors=True)
            PGS.drop(uri)


class MigrateTest(unittest.TestCase):
    """One SpatiaLite database filled through the API, migrated once; a server on each."""

    SERVE = ('--claim-timeout', '86400', '--claim-cap', '100')

    @classmethod
    def setUpClass(cls):
        cls.src = A.Server('migratesrc')
        cls.dst = None
        cls.uri = PGS.create('migrate')
        src = cls.src
        for name, role, caps in (('coord', 'coordinator', ()), ('op', 'operator', ()),
                                 ('v1', 'volunteer', ('boat',)), ('v2', 'volunteer', ()),
                                 ('gone', 'volunteer', ()), ('rot', 'volunteer', ())):
            src.add_team(name, role, caps)
        src.cli('demo', '--db', src.db, '--requests', '300', '--teams', '8')
        src.cli('import-areas', '--db', src.db, '--level', 'hamlet',
                os.path.join(A.DATA, A.HAMLET_FIXTURE))
        src.start(*cls.SERVE)
        try:
            cls.fill(src)
            cls.paths = cls.questions(src)
            cls.before = {}
            for _ in range(2):  # the first round records the reveals; the second is the answer
                cls.before = {k: cls.ask(src, k) for k in cls.paths}
            cls.audit = src.get('/api/v1/audit?limit=10000', token=src.token('coord')).json()
        finally:
            rc = src.stop()
        log = src.read_log()
        assert rc == 0 and 'Sanitizer' not in log and 'runtime error:' not in log, \
            'the SpatiaLite server exited with %s\n%s' % (rc, log[-3000:])
        cls.src_counts = sqlite_counts(src.db)
        con = sqlite3.connect(src.db)
        cls.last_change = con.execute('SELECT max(id) FROM change').fetchone()[0]
        con.close()
        t0 = time.monotonic()
        cls.mig = migrate(src.db, cls.uri)
        cls.mig_s = time.monotonic() - t0
        cls.dst_counts = pg_counts(cls.uri) if cls.mig.returncode == 0 else None
        cls.dst = pg_server('migratedst', cls.uri)
        cls.dst.teams = dict(src.teams)
        if cls.mig.returncode == 0:
            cls.dst.start(*cls.SERVE)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.src.dir, ignore_errors=True)  # its server was stopped in setUpClass
        s = cls.dst
        try:
            if s is not None and s.proc is not None:
                alive = s.alive()
                rc = s.stop()
                log = s.read_log()
                if not alive or rc != 0 or any(sign in log for sign in
                                               ('Sanitizer', 'runtime error:', 'level=error')):
                    raise AssertionError('the server on PostGIS: status %s\n%s' %
                                         (rc, log[-3000:]))
        finally:
            if s is not None:
                shutil.rmtree(s.dir, ignore_errors=True)
            PGS.drop(cls.uri)

    # ---- the district's day, on SpatiaLite ------------------------------------------------

    @classmethod
    def fill(cls, s):
        tok = s.token
        op, coord = tok('op'), tok('coord')
        cls.residents = []
        pts = A.WARD_POINTS + A.FORMER_POINTS
        for i, (lon, lat, _, _) in enumerate(pts):
            extra = {'note': 'hết gạo\tnhà %d\nsố 2 \\ hẻm' % i, 'name': 'Người %d' % i,
                     'address': 'Ấp %d' % i, 'vulnerable': ['elderly', 'child'][:i % 3]}
            if i % 4 == 1:
                extra['reporter'] = {'name': 'Con gái', 'phone': '0908%06d' % i}
            if i % 4 == 2:
                extra.pop('vulnerable')
                extra['location_precision'] = 'gps'
            q, t = s.create_ok(lon + 0.00001 * i, lat, category=A.CAT[i % 7], people=1 + i,
                               **extra)
            cls.residents.append((q['code'], t))
        q, t = s.create_ok(pts[0][0], pts[0][1], token=op, note='gọi tổng đài')
        cls.residents.append((q['code'], t))
        # A repeat by the operator: the note lands in the first request's history.
        first = s.get('/api/v1/requests/%s' % cls.residents[0][0], token=coord).json()['request']
        r = s.create(first['lon'], first['lat'], category=first['category'], phone=first['phone'],
                     token=op, note='gọi lại lần hai')
        assert r.status == 200 and r.json().get('duplicate'), r.text
        c = [code for code, _ in cls.residents]

        def post(path, body=None, who='coord', status=200):
            r = s.post(path, body, token=tok(who))
            assert r.status == status, (path, r.status, r.text)
            return r

        post('/api/v1/requests/%s/claim' % c[1], who='v1')
        post('/api/v1/requests/%s/status' % c[1], {'status': 'in_progress'}, who='v1')
        post('/api/v1/requests/%s/status' % c[1], {'status': 'resolved', 'note': 'đã giao'},
             who='v1')
        post('/api/v1/requests/%s/claim' % c[2], who='v1')
        post('/api/v1/requests/%s/claim' % c[3], who='v2')
        post('/api/v1/requests/%s/status' % c[3], {'status': 'new', 'note': 'trả lại'}, who='v2')
        post('/api/v1/requests/%s/assign' % c[4], {'team_id': s.team_id('v2')})
        post('/api/v1/requests/%s/assign' % c[4], {'team_id': s.team_id('v1')})
        r = s.post('/api/v1/requests/%s/cancel?token=%s' % cls.residents[5])
        assert r.status == 200, r.text
        r = s.post('/api/v1/requests/%s/safe?token=%s' % cls.residents[6], {'note': 'an toàn'})
        assert r.status == 200, r.text
        post('/api/v1/requests/%s/verify' % c[7], {'verified': True, 'outcome': 'reached'},
             who='op')
        r = s.call('PATCH', '/api/v1/requests/%s' % c[8],
                   body={'people': 9, 'phone': '0912 345 678', 'note': 'thêm ghi chú'},
                   token=op)
        assert r.status == 200, r.text
        post('/api/v1/requests/%s/status' % c[9], {'status': 'duplicate', 'duplicate_of': c[10],
                                                   'note': 'trùng'})
        # A volunteer reads a request it holds: a reveal in the history.
        assert s.get('/api/v1/requests/%s' % c[2], token=tok('v1')).status == 200
        post('/api/v1/teams/me/location', {'lat': pts[2][1], 'lon': pts[2][0]}, who='v1')
        r = post('/api/v1/points', {'kind': 'shelter', 'name': 'Trường tiểu học', 'lat': pts[0][1],
                                    'lon': pts[0][0], 'capacity': 200, 'hours': '24/7'},
                 status=201)
        r = s.call('PUT', '/api/v1/points/%s' % r.json()['properties']['id'],
                   body={'status': 'full'}, token=coord)
        assert r.status == 200, r.text
        r = s.post('/api/v1/teams/%d/rotate' % s.team_id('rot'), {}, token=coord)
        assert r.status == 200, r.text
        cls.rotated_old = tok('rot')
        s.teams['rot'] = dict(s.teams['rot'], token=r.json()['token'])
        post('/api/v1/teams/%d/disable' % s.team_id('gone'), {})

    @classmethod
    def questions(cls, s):
        """(path, who) pairs whose answers must survive the move; who is a team name, a
        tracking token ('=' + token, in the path already) or None."""
        coord = 'coord'
        qs = [('/api/v1/requests?status=all&limit=10000', coord),
              ('/api/v1/requests?status=all&limit=10000&order=-id', 'op'),
              ('/api/v1/requests?status=all&limit=10000', None),
              ('/api/v1/requests?order=urgent&limit=50', coord),
              ('/api/v1/requests?q=het%20gao&status=all', 'op'),
              ('/api/v1/stats', None), ('/api/v1/stats', coord),
              ('/api/v1/areas', None), ('/api/v1/areas?level=former_ward', None),
              ('/api/v1/areas?level=hamlet', coord),
              ('/api/v1/teams', coord), ('/api/v1/teams/me/requests', 'v1'),
              ('/api/v1/teams/me/requests', 'v2'), ('/api/v1/teams/me/requests', 'rot'),
              ('/api/v1/points', None), ('/api/v1/points/nearest?lat=10.97&lon=106.47', None),
              ('/api/v1/places?q=tan%20thanh', None),
              ('/api/v1/requests/nearby?lat=%f&lon=%f&limit=20' % (A.WARD_POINTS[2][1],
                                                                  A.WARD_POINTS[2][0]), 'v1'),
              ('/api/v1/export?format=csv', coord)]
        for code, t in cls.residents:
            qs.append(('/api/v1/requests/%s' % code, coord))
            qs.append(('/api/v1/requests/%s?token=%s' % (code, t), None))
        # Demo requests with the longest histories.
        con = sqlite3.connect(s.db)
        for (code,) in con.execute('SELECT r.code FROM request r JOIN history h ON h.request_id '
                                   '= r.id GROUP BY r.id ORDER BY count(*) DESC, r.id LIMIT 10'):
            qs.append(('/api/v1/requests/%s' % code, coord))
        con.close()
        lon, lat = A.WARD_POINTS[0][:2]
        for z in (10, 14):
            x, y = A.tile_xy(lon, lat, z)
            qs.append(('/tiles/requests/%d/%d/%d.mvt' % (z, x, y), None))
        return qs

    @staticmethod
    def ask(s, key):
        path, who = key
        r = s.get(path, token=s.token(who) if who else None)
        return r.status, r.body

    # ---- after the move, on PostGIS ----------------------------------------------------------

    def setUp(self):
        self.assertEqual(self.mig.returncode, 0, self.mig.stderr)

    def test_reports_the_rows_of_every_table(self):
        out = json.loads(self.mig.stdout.strip().splitlines()[-1])
        self.assertEqual(out['migrated'], self.src_counts)
        self.assertEqual(self.dst_counts, self.src_counts)
        print('\nmigrate: %s in %.2f s' % (self.src_counts, self.mig_s), file=sys.stderr)

    def test_every_answer_is_the_same(self):
        self.assertGreater(len(self.paths), 50)
        for key in self.paths:
            with self.subTest(path=key[0], who=key[1]):
                status, body = self.ask(self.dst, key)
                want_status, want_body = self.before[key]
                self.assertEqual(status, want_status, body[:300])
                if key[0].startswith('/api/v1/stats'):
                    # Hourly counts are of the last 24 h: an hour may have passed between the
                    # two answers, so compare the hours both have, and everything else.
                    got, want = json.loads(body), json.loads(want_body)
                    gh = {h['from']: h['count'] for h in got.pop('hourly')}
                    wh = {h['from']: h['count'] for h in want.pop('hourly')}
                    self.assertGreaterEqual(len(set(gh) & set(wh)), 23)
                    self.assertEqual({k: gh[k] for k in wh if k in gh},
                                     {k: wh[k] for k in wh if k in gh})
                    self.assertEqual(got, want)
                elif key[0].startswith('/tiles/'):
                    # The same features; their order follows the server's memory (a request
                    # updated on the running server comes last), not the data.
                    self.assertEqual(mvt_features(body), mvt_features(want_body))
                else:
                    self.assertEqual(body, want_body)

    def test_audit_log_is_kept(self):
        """Exports, reveals and team changes logged on SpatiaLite are the start of the log on
        PostGIS (the copy's own exports come after them)."""
        want = self.audit['entries']
        self.assertGreater(len(want), 5)
        self.assertTrue({'export', 'team'} <= {e['kind'] for e in want}, want)
        got = self.dst.get('/api/v1/audit?limit=10000', token=self.dst.token('coord')).json()
        self.assertEqual(got['entries'][:len(want)], want)

    def test_history_is_kept_in_order_with_its_details(self):
        code = self.residents[4][0]
        h = self.dst.get('/api/v1/requests/%s' % code, token=self.dst.token('coord')).json()
        hist = h['request']['history']
        self.assertEqual([e['to'] for e in hist if e['kind'] == 'status'],
                         ['new', 'assigned', 'assigned'])
        self.assertEqual([e['actor'] for e in hist][:2], ['resident', 'coord'])
        self.assertTrue(all(a['at'] <= b['at'] for a, b in zip(hist, hist[1:])), hist)

    def test_tracking_tokens_still_work_and_wrong_ones_do_not(self):
        for code, t in self.residents:
            r = self.dst.get('/api/v1/requests/%s?token=%s' % (code, t))
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(r.json()['request']['code'], code)
            self.assertEqual(self.dst.get('/api/v1/requests/%s?token=%s' % (code, 'a' * 32)).status,
                             404)
        code, t = self.residents[11]
        r = self.dst.post('/api/v1/requests/%s/cancel?token=%s' % (code, t))
        self.assertEqual(r.status, 200, r.text)

    def test_team_tokens_still_work_disabled_and_rotated_ones_do_not(self):
        for name in ('coord', 'op', 'v1', 'v2', 'rot'):
            with self.subTest(team=name):
                r = self.dst.get('/api/v1/teams/me/requests', token=self.dst.token(name))
                self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.dst.get('/api/v1/teams/me/requests',
                                      token=self.dst.token('gone')).status, 401)
        self.assertEqual(self.dst.get('/api/v1/teams/me/requests',
                                      token=self.rotated_old).status, 401)
        # A team holding requests goes on working: v1 resolves what it held.
        code = self.residents[2][0]
        r = self.dst.post('/api/v1/requests/%s/status' % code, {'status': 'in_progress'},
                          token=self.dst.token('v1'))
        self.assertEqual(r.status, 200, r.text)

    def test_new_rows_continue_after_the_copied_ones(self):
        out = json.loads(self.dst.cli('team', 'add', '--db', self.uri, '--name', 'sau',
                                      '--role', 'volunteer').stdout.strip().splitlines()[-1])
        self.assertEqual(out['id'], self.src_counts['team'] + 1)
        sse = A.SSE(self.dst, token=self.dst.token('coord'))
        try:
            q, t = self.dst.create_ok(*A.WARD_POINTS[3][:2], note='sau khi chuyển')
            e = sse.wait(A.created(q['code']))
            self.assertIsNotNone(e, sse.text()[-2000:])
            # Event ids continue the copied change log (change N is event N x 64, its alert the
            # next ids): a Last-Event-ID of before the move means the same moment after it.
            self.assertGreater(e['id'], self.last_change * 64 + 63)
        finally:
            sse.close()
        self.assertEqual(self.dst.resident_get(q['code'], t)['note'], 'sau khi chuyển')

    def test_a_target_with_data_is_refused_and_left_alone(self):
        before = pg_counts(self.uri)
        p = migrate(self.src.db, self.uri)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertIn('already holds helpmap data', lines[-1])
        self.assertEqual(pg_counts(self.uri), before)


class MigrateFailureTest(unittest.TestCase):
    """A copy that fails half-way leaves nothing behind, and the command simply runs again."""

    def test_failed_copy_leaves_the_target_empty_and_runs_again(self):
        d = tempfile.mkdtemp(prefix='helpmap-migrate-fail-')
        uri = PGS.create('migratefail')
        try:
            db = os.path.join(d, 'a.db')
            subprocess.run([A.BIN, 'demo', '--db', db, '--requests', '50', '--teams', '3'],
                           check=True, capture_output=True, timeout=120)
            con = sqlite3.connect(db)
            note = con.execute('SELECT id, note FROM request ORDER BY id DESC LIMIT 1').fetchone()
            # A note that is not UTF-8: PostgreSQL refuses it in the middle of the request
            # table, after the areas and teams went in (in the same transaction).
            con.execute("UPDATE request SET note = CAST(X'C328' AS TEXT) WHERE id = ?",
                        (note[0],))
            con.commit()
            p = migrate(db, uri)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn('request', p.stderr.strip().splitlines()[-1])
            # Empty again; history_chain keeps the one row the schema makes.
            self.assertEqual(pg_counts(uri), {t: int(t == 'history_chain') for t in TABLES})
            con.execute('UPDATE request SET note = ? WHERE id = ?', (note[1], note[0]))
            con.commit()
            con.close()
            p = migrate(db, uri)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(pg_counts(uri), sqlite_counts(db))
        finally:
            shutil.rmtree(d, ignore_errors=True)
            PGS.drop(uri)

    def test_target_with_tables_of_its_own_is_refused(self):
        d = tempfile.mkdtemp(prefix='helpmap-migrate-other-')
        uri = PGS.create('migrateother')
        try:
            db = os.path.join(d, 'a.db')
            subprocess.run([A.BIN, 'demo', '--db', db, '--requests', '5', '--teams', '1'],
                           check=True, capture_output=True, timeout=120)
            PGS.run(uri, 'CREATE TABLE payroll(id int)')
            p = migrate(db, uri)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn('not helpmap', p.stderr)
            self.assertEqual(PGS.run(uri, "SELECT count(*) FROM pg_tables WHERE schemaname = "
                                          "'public' AND tablename <> 'spatial_ref_sys'").strip(),
                             '1')
        finally:
            shutil.rmtree(d, ignore_errors=True)
            PGS.drop(uri)


def main():
    global PGS
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', required=True)
    ap.add_argument('--web', required=True)
    ap.add_argument('--data', required=True)
    args, rest = ap.parse_known_args()
    A.BIN = os.path.abspath(args.bin)
    A.WEB = os.path.abspath(args.web)
    A.DATA = os.path.abspath(args.data)
    if not os.environ.get('HM_TEST_PG_URI'):
        print('test_migrate: skipped: no HM_TEST_PG_URI (run it under scripts/pg.sh run)',
              file=sys.stderr)
        sys.exit(77)
    PGS = A.PgServer(os.environ['HM_TEST_PG_URI'])
    try:
        prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    finally:
        PGS.close()
    sys.exit(0 if prog.result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
