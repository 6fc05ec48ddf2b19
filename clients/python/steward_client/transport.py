"""The one way the client talks HTTP: bearer token, JSON in and out, TLS options, and every
failure mapped to a StewardError. Standard library only (urllib, ssl, json)."""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Mapping, Optional, Tuple

from .errors import ConnectionFailedError, error_from_answer

USER_AGENT = "steward-client-python/0.1.0"
# The statuses that mean "not now, try later": the request was not acted on.
BUSY_STATUSES = (429, 503)

Query = Mapping[str, Any]


def make_ssl_context(ca_file: Optional[str] = None, verify: bool = True, cert_file: Optional[str] = None, key_file: Optional[str] = None) -> ssl.SSLContext:
    """TLS for https URLs: the system's CAs, or ``ca_file`` alone when given (a private CA);
    ``verify=False`` checks nothing (tests only); ``cert_file``/``key_file`` present a client cert."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


def segment(value: str) -> str:
    """A path segment: ids and names may hold characters a URL path cannot."""
    return urllib.parse.quote(str(value), safe="")


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v)


def retry_after_seconds(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reason(e: BaseException) -> str:
    """What went wrong under urllib's wrapper (refused, certificate failed, timed out…)."""
    inner = e.reason if isinstance(e, urllib.error.URLError) and isinstance(e.reason, BaseException) else e
    if isinstance(e, urllib.error.URLError) and isinstance(e.reason, str):
        return e.reason
    if isinstance(inner, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {inner.verify_message}"
    if isinstance(inner, (socket.timeout, TimeoutError)):
        return "timed out"
    text = str(inner) or type(inner).__name__
    return text


class Transport:
    """HTTP to one control plane. ``retries`` is how many times a 429/503 answer is retried, after
    its Retry-After (or 1, 2, 4… s without one); a Retry-After longer than ``max_retry_wait`` is not
    waited for: the error is raised with its ``retry_after``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        ca_file: Optional[str] = None,
        verify: bool = True,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
        timeout: float = 30.0,
        retries: int = 0,
        max_retry_wait: float = 60.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        context = ssl_context or make_ssl_context(ca_file, verify, cert_file, key_file)
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))

    def url(self, path: str, query: Optional[Query] = None) -> str:
        pairs = [(k, _query_value(v)) for k, v in (query or {}).items() if v is not None and v != ""]
        return self.base_url + path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")

    def _headers(self, accept: str) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Accept": accept, "User-Agent": USER_AGENT}

    def request(self, method: str, path: str, *, query: Optional[Query] = None, body: Any = None, timeout: Optional[float] = None) -> Tuple[int, Any]:
        """One call under ``/api/v1``: returns (status, parsed body) for a 2xx answer, raises otherwise."""
        headers = self._headers("application/json")
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        url = self.url("/api/v1" + path, query)
        attempt = 0
        while True:
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with self._opener.open(req, timeout=timeout if timeout is not None else self.timeout) as res:
                    return res.status, _parse_body(res.read())
            except urllib.error.HTTPError as e:
                status, answer, wait = e.code, _parse_body(e.read()), retry_after_seconds(e.headers.get("Retry-After"))
                e.close()
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
                raise ConnectionFailedError(self.base_url, _reason(e)) from None
            delay = self._busy_delay(status, wait, attempt)
            if delay is None:
                raise error_from_answer(status, answer, wait)
            time.sleep(delay)
            attempt += 1

    def _busy_delay(self, status: int, retry_after: Optional[float], attempt: int) -> Optional[float]:
        """How long to wait before retrying this answer, or None when it is not to be retried."""
        if status not in BUSY_STATUSES or attempt >= self.retries:
            return None
        delay = retry_after if retry_after is not None else min(2.0 ** attempt, self.max_retry_wait)
        return delay if delay <= self.max_retry_wait else None

    def open_stream(self, path: str, *, query: Optional[Query] = None, headers: Optional[Dict[str, str]] = None, timeout: Optional[float] = None) -> http.client.HTTPResponse:
        """Opens a text/event-stream answer; returns once the server has answered. ``timeout`` is the
        longest silence tolerated between reads (the server pings every 15 s)."""
        all_headers = {**self._headers("text/event-stream"), "Cache-Control": "no-cache", **(headers or {})}
        req = urllib.request.Request(self.url(path, query), headers=all_headers, method="GET")
        try:
            return self._opener.open(req, timeout=timeout if timeout is not None else self.timeout)
        except urllib.error.HTTPError as e:
            answer, wait = _parse_body(e.read()), retry_after_seconds(e.headers.get("Retry-After"))
            e.close()
            raise error_from_answer(e.code, answer, wait) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            raise ConnectionFailedError(self.base_url, _reason(e)) from None


def camel_fields(**fields: Any) -> Dict[str, Any]:
    """Keyword arguments as API body fields: None left out, snake_case names in the API's camelCase."""
    out: Dict[str, Any] = {}
    for name, value in fields.items():
        if value is not None:
            head, *rest = name.split("_")
            out[head + "".join(w.capitalize() for w in rest)] = value
    return out
