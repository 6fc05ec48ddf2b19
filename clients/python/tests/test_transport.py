"""What the client does with answers the control plane gives only under load or failure: 429/503
with Retry-After, bodies that are no error envelope, a refused connection, an event stream cut."""

import time
import unittest

from steward_client import ConnectionFailedError, RateLimitedError, ServerError, StewardClient, StewardError, UnavailableError
from steward_client.transport import retry_after_seconds

try:
    from .stub_server import ScriptedServer, send_json
except ImportError:  # run as a top-level module by unittest discovery
    from stub_server import ScriptedServer, send_json

BUSY = '{"error":{"code":"rate_limited","message":"slow down","details":{"limit":10}}}'
NODES = '{"items":[{"id":"n1","name":"web-1"}]}'


class RetryAfterTest(unittest.TestCase):
    def serve(self, answer):
        server = ScriptedServer(answer)
        self.addCleanup(server.close)
        return server

    def test_429_is_retried_after_its_retry_after_when_asked_to(self):
        server = self.serve(lambda h, n: send_json(h, 429, BUSY, {"Retry-After": "1"}) if n < 2 else send_json(h, 200, NODES))
        client = StewardClient(server.url, "tok", retries=2)
        started = time.monotonic()
        self.assertEqual([n["name"] for n in client.list_nodes(limit=5)], ["web-1"])
        self.assertGreaterEqual(time.monotonic() - started, 2.0)
        self.assertEqual(len(server.seen), 3)
        for method, path, headers in server.seen:
            self.assertEqual((method, path, headers["Authorization"]), ("GET", "/api/v1/nodes?limit=5", "Bearer tok"))

    def test_without_retries_a_429_raises_with_the_envelope_and_retry_after(self):
        server = self.serve(lambda h, n: send_json(h, 429, BUSY, {"Retry-After": "7"}))
        with self.assertRaises(RateLimitedError) as cm:
            StewardClient(server.url, "tok").list_nodes()
        e = cm.exception
        self.assertIsInstance(e, StewardError)
        self.assertEqual((e.status, e.code, e.message, e.details, e.retry_after), (429, "rate_limited", "slow down", {"limit": 10}, 7.0))
        self.assertEqual(len(server.seen), 1)

    def test_a_retry_after_longer_than_max_retry_wait_is_raised_not_waited(self):
        server = self.serve(lambda h, n: send_json(h, 503, '{"error":{"code":"draining","message":"shutting down"}}', {"Retry-After": "120"}))
        with self.assertRaises(UnavailableError) as cm:
            StewardClient(server.url, "tok", retries=3, max_retry_wait=5).get_node("web-1")
        self.assertEqual((cm.exception.code, cm.exception.retry_after), ("draining", 120.0))
        self.assertEqual(len(server.seen), 1)

    def test_503_without_retry_after_backs_off_then_succeeds(self):
        server = self.serve(lambda h, n: send_json(h, 503, "{}") if n == 0 else send_json(h, 200, NODES))
        self.assertEqual(len(StewardClient(server.url, "tok", retries=1).list_nodes()), 1)
        self.assertEqual(len(server.seen), 2)

    def test_an_answer_that_is_no_envelope_keeps_its_status(self):
        server = self.serve(lambda h, n: send_json(h, 502, "<html>bad gateway</html>"))
        with self.assertRaises(ServerError) as cm:
            StewardClient(server.url, "tok", retries=3).list_nodes()
        self.assertEqual((cm.exception.status, cm.exception.code), (502, "http_502"))
        self.assertIn("bad gateway", cm.exception.message)
        self.assertEqual(len(server.seen), 1)  # 502 is not a "busy" answer: not retried

    def test_http_date_retry_after(self):
        self.assertAlmostEqual(retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0), 10.0)
        self.assertIsNone(retry_after_seconds("soon"))


class ConnectionTest(unittest.TestCase):
    def test_no_server_is_connection_failed_with_status_0(self):
        server = ScriptedServer(lambda h, n: None)
        url = server.url
        server.close()  # nothing listens on this port now
        with self.assertRaises(ConnectionFailedError) as cm:
            StewardClient(url, "tok", timeout=5).list_nodes()
        self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.details["url"]), (0, "connection_failed", url))

    def test_a_base_url_without_scheme_is_refused_at_once(self):
        with self.assertRaises(ValueError):
            StewardClient("127.0.0.1:7070", "tok")


class EventStreamResumeTest(unittest.TestCase):
    def test_a_cut_stream_reconnects_with_the_last_id_it_saw(self):
        def answer(h, n):
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.end_headers()
            if n == 0:
                h.wfile.write(b'retry: 50\n\nid: b-1\nevent: node.status\ndata: {"kind":"node.status","name":"web-1"}\n\n')
                h.wfile.flush()
                h.close_connection = True  # cut: the client must come back
            else:
                h.wfile.write(b'id: b-2\nevent: command.state\ndata: {"kind":"command.state","state":"succeeded"}\n\n')
                h.wfile.flush()
                time.sleep(0.5)
                h.close_connection = True

        server = ScriptedServer(answer)
        self.addCleanup(server.close)
        client = StewardClient(server.url, "tok")
        with client.open_events(kinds=["node.status", "command.state"]) as stream:
            first, second = next(stream), next(stream)
        self.assertEqual([(e.id, e.kind) for e in (first, second)], [("b-1", "node.status"), ("b-2", "command.state")])
        self.assertEqual(second.data["state"], "succeeded")
        self.assertEqual([h.get("Last-Event-ID") for _, _, h in server.seen[:2]], [None, "b-1"])
        self.assertEqual(server.seen[0][1], "/api/v1/events?kinds=node.status%2Ccommand.state")

    def test_without_reconnect_a_cut_stream_ends_the_iteration(self):
        def answer(h, n):
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.end_headers()
            h.wfile.write(b'id: c-1\ndata: {"kind":"task.state"}\n\n')
            h.close_connection = True

        server = ScriptedServer(answer)
        self.addCleanup(server.close)
        events = list(StewardClient(server.url, "tok").open_events(reconnect=False))
        self.assertEqual([(e.id, e.kind) for e in events], [("c-1", "task.state")])
        self.assertEqual(len(server.seen), 1)


if __name__ == "__main__":
    unittest.main()
