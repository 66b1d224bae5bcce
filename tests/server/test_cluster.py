#!/usr/bin/python3
"""test_cluster.py: two helpmap servers on one PostGIS database behind HAProxy (the local
recipe, scripts/cluster.sh), as SPEC "Beyond one machine" promises them: whatever one server
acknowledges, the other serves at once; claims and the claim cap are decided by the database
across servers; events carry the same ids on both, so Last-Event-ID works after a switch; tile
caches follow the other server's changes; a hamlet drawn on one is used by the other; kill -9
of one server during writes to both loses no acknowledged request.

Run by ctest through scripts/pg.sh run (a throwaway PostgreSQL on 127.0.0.1):
    scripts/pg.sh run python3 tests/server/test_cluster.py --bin BUILD/helpmap --web WEB \
        --data tests/data
Exits 77 (skipped) when PostgreSQL or HAProxy is not available. Loopback only.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test as A  # noqa: E402  the harness: Resp, SSE, PgServer, points

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, 'scripts', 'cluster.sh')
RELAY = os.path.join(ROOT, 'bench', 'netdelay.py')
P = (106.5335, 10.9615)  # inside ward 27553


class Node:
    """One HTTP endpoint: a server or the balancer."""

    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, token=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h['Content-Type'] = 'application/json'
        if token:
            h['Authorization'] = 'Bearer ' + token
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return A.Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, body=None, **kw):
        return self.request('POST', path, body if body is not None else {}, **kw)


def eventually(pred, timeout=5.0, step=0.05):
    """pred() true within `timeout` seconds (the change log reaches the other server)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


class ClusterTest(unittest.TestCase):
    """The two servers (s1, s2) and the balancer (lb) of one cluster for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='helpmap-cluster-')
        cls.db = PG.create('cluster')
        p = subprocess.run([CLUSTER, 'up', cls.dir, '--servers', '2', '--bin', A.BIN, '--web',
                            A.WEB, '--db', cls.db, '--', '--rate-limit', '0',
                            '--phone-rate-limit', '0', '--claim-cap', '3', '--threads', '4'],
                           capture_output=True, text=True, timeout=180)
        if p.returncode != 0:
            raise RuntimeError('cluster.sh up failed: %s %s' % (p.stdout, p.stderr))
        env = {}
        with open(os.path.join(cls.dir, 'cluster.env')) as f:
            for line in f:
                k, _, v = line.strip().partition('=')
                env[k] = v.strip('"')
        cls.lb = Node(int(env['PORT']))
        ports = [int(x) for x in env['SERVER_PORTS'].split()]
        cls.pids = [int(x) for x in env['SERVER_PIDS'].split()]
        cls.s1, cls.s2 = Node(ports[0]), Node(ports[1])
        cls.tokens = {}
        for name, role in (('coord', 'coordinator'), ('va', 'volunteer'), ('vb', 'volunteer'),
                           ('vc', 'volunteer')):
            out = subprocess.run([A.BIN, 'team', 'add', '--db', cls.db, '--name', name, '--role',
                                  role], capture_output=True, text=True, timeout=60, check=True)
            cls.tokens[name] = json.loads(out.stdout.strip().splitlines()[-1])

    @classmethod
    def tearDownClass(cls):
        subprocess.run([CLUSTER, 'down', cls.dir], capture_output=True, timeout=120)
        # A server the kill -9 test started again is not in cluster.env: stop it here.
        for pid in cls.pids:
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        break
                    time.sleep(0.1)
            except (ProcessLookupError, ChildProcessError):
                pass
        for i in (1, 2):
            log = os.path.join(cls.dir, 'server%d.log' % i)
            if os.path.exists(log):
                with open(log, 'rb') as f:
                    text = f.read().decode('utf-8', 'replace')
                assert 'runtime error' not in text and 'AddressSanitizer' not in text, text[-3000:]
        shutil.rmtree(cls.dir, ignore_errors=True)
        PG.drop(cls.db)

    def token(self, name):
        return self.tokens[name]['token']

    seq = 0

    def create(self, node, dx=0.0, dy=0.0, category='food'):
        ClusterTest.seq += 1
        r = node.post('/api/v1/requests', {'lat': P[1] + dy, 'lon': P[0] + dx,
                                           'category': category,
                                           'phone': '+8491%07d' % ClusterTest.seq})
        self.assertEqual(r.status, 201, r.text)
        return r.json()['request']['code']

    # ---- reads of what the other server wrote ----

    def test_request_from_one_is_served_by_the_other_at_once(self):
        code = self.create(self.s1)
        r = self.s2.get('/api/v1/requests/%s' % code, token=self.token('coord'))
        self.assertEqual(r.status, 200, r.text)
        # Lists, nearby and counts come from the other server's memory: the change log.
        self.assertTrue(eventually(lambda: any(
            f['properties']['code'] == code
            for f in self.s2.get('/api/v1/requests?limit=10000').json()['features'])))
        self.assertTrue(eventually(lambda: any(
            f['properties']['code'] == code
            for f in self.s2.get('/api/v1/requests/nearby?lat=%f&lon=%f&radius_m=500&limit=500'
                                 % (P[1], P[0]), token=self.token('va')).json()['features'])))
        self.assertTrue(eventually(lambda: self.s1.get('/api/v1/stats').json()['total'] ==
                                   self.s2.get('/api/v1/stats').json()['total']))

    # ---- the database decides ----

    def test_claim_race_over_both_servers(self):
        """16 claimers, 8 on each server, the same request at the same instant: exactly one
        wins (three rounds)."""
        teams = []
        for i in range(16):
            out = subprocess.run([A.BIN, 'team', 'add', '--db', self.db, '--name',
                                  'race%d-%d' % (i, os.getpid()), '--role', 'volunteer'],
                                 capture_output=True, text=True, timeout=60, check=True)
            teams.append(json.loads(out.stdout.strip().splitlines()[-1])['token'])
        for rnd in range(3):
            code = self.create(self.s1 if rnd % 2 else self.s2, dx=0.01 * rnd)
            results = [None] * 16
            barrier = threading.Barrier(16)

            def claim(i):
                node = self.s1 if i % 2 else self.s2
                barrier.wait()
                results[i] = node.post('/api/v1/requests/%s/claim' % code,
                                       token=teams[i]).status

            th = [threading.Thread(target=claim, args=(i,)) for i in range(16)]
            for t in th:
                t.start()
            for t in th:
                t.join(60)
            self.assertEqual(results.count(200), 1, results)
            self.assertEqual(results.count(409), 15, results)
            # Release so that the teams stay below their cap for the next round.
            winner = teams[results.index(200)]
            self.assertEqual(self.s1.post('/api/v1/requests/%s/status' % code,
                                          {'status': 'new'}, token=winner).status, 200)

    def test_claim_cap_across_servers(self):
        """A team holds at most 3 (--claim-cap 3) whichever server its claims go to, also when
        the last two arrive at once on both servers."""
        out = subprocess.run([A.BIN, 'team', 'add', '--db', self.db, '--name',
                              'cap-%d' % os.getpid(), '--role', 'volunteer'],
                             capture_output=True, text=True, timeout=60, check=True)
        tok = json.loads(out.stdout.strip().splitlines()[-1])['token']
        codes = [self.create(self.s1 if i % 2 else self.s2, dx=0.002 * i, dy=0.003)
                 for i in range(4)]
        self.assertEqual(self.s1.post('/api/v1/requests/%s/claim' % codes[0], token=tok).status,
                         200)
        self.assertEqual(self.s2.post('/api/v1/requests/%s/claim' % codes[1], token=tok).status,
                         200)
        results = [None, None]
        barrier = threading.Barrier(2)

        def claim(i):
            barrier.wait()
            results[i] = (self.s1 if i else self.s2).post(
                '/api/v1/requests/%s/claim' % codes[2 + i], token=tok)

        th = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
        for t in th:
            t.start()
        for t in th:
            t.join(60)
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [200, 409], [r.text for r in results])
        refused = [r for r in results if r.status == 409][0]
        self.assertEqual(refused.json()['error']['code'], 'claim_limit')

    # ---- events ----

    def test_events_have_the_same_ids_on_both_servers(self):
        e1 = A.SSE(self.s1)
        e2 = A.SSE(self.s2)
        try:
            code = self.create(self.s2)
            pred = lambda e: e.get('event') == 'request.created' and e['data']['code'] == code
            a, b = e1.wait(pred), e2.wait(pred)
            self.assertIsNotNone(a, 'the stream on s1 missed a creation on s2')
            self.assertIsNotNone(b)
            self.assertEqual(a['id'], b['id'])
            # The balancer switches server: resume on s2 from s1's id and miss nothing.
            later = self.create(self.s1)
            resumed = A.SSE(self.s2, last_event_id=a['id'])
            try:
                got = resumed.wait(lambda e: e.get('event') == 'request.created' and
                                   e['data']['code'] == later)
                self.assertIsNotNone(got, 'Last-Event-ID from s1 did not resume on s2')
                self.assertFalse(any(e.get('event') == 'request.created' and
                                     e['data']['code'] == code for e in resumed.snapshot()),
                                 'an event before Last-Event-ID was sent again')
            finally:
                resumed.close()
        finally:
            e1.close()
            e2.close()

    # ---- tiles ----

    def test_tile_cached_on_one_changes_after_a_creation_on_the_other(self):
        z = 14
        x, y = A.tile_xy(P[0] + 0.02, P[1] + 0.02, z)
        path = '/tiles/requests/%d/%d/%d.mvt' % (z, x, y)
        before = self.s1.get(path)
        again = self.s1.get(path)  # now from s1's cache
        self.assertEqual(before.status, again.status)
        etag = before.headers.get('etag')
        self.create(self.s2, dx=0.02, dy=0.02)
        self.assertTrue(eventually(lambda: (lambda r: r.status == 200 and
                                            r.headers.get('etag') != etag)(self.s1.get(path))),
                        'the tile cached on s1 did not change within 5 s')

    # ---- areas ----

    def test_hamlet_drawn_on_one_is_used_by_the_other(self):
        ring = [[P[0] + 0.004, P[1] + 0.004], [P[0] + 0.008, P[1] + 0.004],
                [P[0] + 0.008, P[1] + 0.008], [P[0] + 0.004, P[1] + 0.008],
                [P[0] + 0.004, P[1] + 0.004]]
        feature = {'type': 'Feature', 'geometry': {'type': 'Polygon', 'coordinates': [ring]},
                   'properties': {'code': '27553-CL1', 'name': 'Ấp Cụm (thử)', 'level': 'hamlet',
                                  'parent_code': '27553'}}
        r = self.s1.post('/api/v1/areas', feature, token=self.token('coord'))
        self.assertEqual(r.status, 201, r.text)

        def hamlet_on_s2():
            code = self.create(self.s2, dx=0.006, dy=0.006)
            got = self.s2.get('/api/v1/requests/%s' % code, token=self.token('coord')).json()
            return got['request']['hamlet_code'] == '27553-CL1'
        self.assertTrue(eventually(hamlet_on_s2), 's2 did not use the hamlet drawn on s1')

    # ---- losing a server ----

    def test_kill_9_of_one_server_loses_nothing_acknowledged(self):
        """Writes go to both servers while one is killed with SIGKILL: every request that got a
        201 is there afterwards, read through the other server."""
        acked, lock = [], threading.Lock()
        stop = threading.Event()

        def writer(node, tag):
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = node.post('/api/v1/requests', {
                        'lat': P[1] + 0.0001 * (i % 50), 'lon': P[0] - 0.01,
                        'category': 'water', 'phone': '+8492%s%06d' % (tag, i)}, timeout=5)
                except OSError:
                    continue  # the killed server: connection refused or reset
                if r.status == 201:
                    with lock:
                        acked.append(r.json()['request']['code'])

        victim_port = self.s2.port
        th = [threading.Thread(target=writer, args=(self.s1, '1')),
              threading.Thread(target=writer, args=(self.s2, '2'))]
        for t in th:
            t.start()
        time.sleep(1.0)
        os.kill(self.pids[1], signal.SIGKILL)
        time.sleep(1.0)
        stop.set()
        for t in th:
            t.join(30)
        self.assertGreater(len(acked), 20)
        missing = [c for c in acked
                   if self.s1.get('/api/v1/requests/%s' % c, token=self.token('coord')).status
                   != 200]
        self.assertEqual(missing, [], 'acknowledged requests lost with the killed server')
        # The balancer noticed (health checks) and still answers through s1.
        self.assertTrue(eventually(lambda: all(
            self.lb.get('/healthz').status == 200 for _ in range(4)), timeout=5))
        # Bring a server back on the same port for the tests that follow.
        log = open(os.path.join(self.dir, 'server2.log'), 'ab')
        proc = subprocess.Popen([A.BIN, 'serve', '--db', self.db, '--port', str(victim_port),
                                 '--web', A.WEB, '--rate-limit', '0', '--phone-rate-limit', '0',
                                 '--claim-cap', '3', '--threads', '4'],
                                stdout=subprocess.DEVNULL, stderr=log)
        type(self).pids[1] = proc.pid
        self.assertTrue(eventually(lambda: self._up(self.s2), timeout=30))

    @staticmethod
    def _up(node):
        try:
            return node.get('/healthz', timeout=2).status == 200
        except OSError:
            return False


def free_port():
    import socket
    with socket.socket() as so:
        so.bind(('127.0.0.1', 0))
        return so.getsockname()[1]


class DatabaseOutageTest(unittest.TestCase):
    """A server whose PostgreSQL goes away answers 503 unavailable within 2 s (the health check
    says why) and serves again by itself when it returns, with no restart. The database "goes
    away" by stopping a TCP relay between the server and PostgreSQL (bench/netdelay.py, no
    delay): stopping PostgreSQL itself would stop it for every other test of this run."""

    def start_relay(self):
        self.relay = subprocess.Popen(['/usr/bin/python3', RELAY, str(self.relay_port),
                                       str(self.pg_port), '0'])
        for _ in range(100):
            try:
                import socket
                socket.create_connection(('127.0.0.1', self.relay_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('the relay does not listen')

    def stop_relay(self):
        self.relay.terminate()
        self.relay.wait(timeout=30)

    def setUp(self):
        import urllib.parse
        self.dir = tempfile.mkdtemp(prefix='helpmap-outage-')
        self.db = PG.create('outage')
        u = urllib.parse.urlsplit(self.db)
        self.pg_port = u.port
        self.relay_port = free_port()
        via = urllib.parse.urlunsplit((u.scheme, '%s@127.0.0.1:%d' % (u.username, self.relay_port),
                                       u.path, u.query, u.fragment))
        self.start_relay()
        self.port = free_port()
        self.log = open(os.path.join(self.dir, 'server.log'), 'wb')
        self.srv = subprocess.Popen([A.BIN, 'serve', '--db', via, '--port', str(self.port),
                                     '--web', A.WEB, '--rate-limit', '0', '--phone-rate-limit',
                                     '0'], stdout=self.log, stderr=subprocess.STDOUT)
        self.node = Node(self.port)
        ok = eventually(lambda: self._status('/healthz') == 200, timeout=60)
        self.assertTrue(ok, 'the server did not start')

    def tearDown(self):
        self.srv.terminate()
        try:
            self.srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.srv.kill()
        if self.relay.poll() is None:
            self.stop_relay()
        self.log.close()
        PG.drop(self.db)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _status(self, path):
        try:
            return self.node.get(path, timeout=5).status
        except OSError:
            return None

    seq = 0

    def create(self):
        DatabaseOutageTest.seq += 1
        return self.node.post('/api/v1/requests', {'lat': P[1], 'lon': P[0], 'category': 'food',
                                                   'phone': '+8492%07d' % DatabaseOutageTest.seq},
                              timeout=10)

    def test_database_down_is_503_within_2_s_and_back_without_restart(self):
        r = self.create()
        self.assertEqual(r.status, 201, r.text)
        code = r.json()['request']['code']
        self.stop_relay()
        t0 = time.monotonic()
        h = self.node.get('/healthz', timeout=10)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertEqual(h.status, 503, h.text)
        self.assertEqual(h.json()['error']['code'], 'unavailable')
        self.assertTrue(h.json()['error']['message'])  # says why
        t0 = time.monotonic()
        w = self.create()
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertEqual(w.status, 503, w.text)
        self.assertEqual(w.json()['error']['code'], 'unavailable')
        # PostgreSQL returns: the same process serves again, and nothing acknowledged is lost.
        self.start_relay()
        self.assertTrue(eventually(lambda: self._status('/healthz') == 200, timeout=15))
        self.assertTrue(eventually(lambda: self.create().status == 201, timeout=15))
        got = self.node.get('/api/v1/requests/' + code)
        self.assertNotEqual(got.status, 503, got.text)
        self.assertIsNone(self.srv.poll(), 'the server restarted or died')


PG = None


def main():
    global PG
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--web', required=True)
    ap.add_argument('--data', required=True)
    args, rest = ap.parse_known_args()
    A.BIN, A.WEB, A.DATA = os.path.abspath(args.bin), os.path.abspath(args.web), args.data
    uri = os.environ.get('HM_TEST_PG_URI')
    if not uri:
        print('test_cluster: skipped: no PostgreSQL (run it through scripts/pg.sh run)')
        return 77
    if not shutil.which('haproxy'):
        print('test_cluster: skipped: haproxy is not installed')
        return 77
    for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'):
        os.environ.pop(k, None)
    PG = A.PgServer(uri)
    try:
        prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    finally:
        PG.close()
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
