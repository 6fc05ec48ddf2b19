"""A loopback HTTP server that answers from a script, for what a real control plane cannot be
made to do on cue (a 429 with Retry-After, a stream cut mid-way)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedServer:
    """``answer(handler, n)`` writes the answer to the n-th request (0-based); every request's
    method, path and headers are kept in ``seen``."""

    def __init__(self, answer):
        outer = self
        self.seen = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                n = len(outer.seen)
                outer.seen.append((self.command, self.path, self.headers))  # case-insensitive lookups
                answer(self, n)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def send_json(handler, status, body, headers=None):
    data = body.encode("utf-8") if isinstance(body, str) else body
    handler.send_response(status)
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
