"""The live event stream (``GET /api/v1/events``, Server-Sent Events), resumed by Last-Event-ID."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Sequence

from .errors import ApiError, ConnectionFailedError, StewardError
from .sse import read_sse
from .transport import Transport

# A reconnect is also worth trying after these answers: a proxy or a replica between restarts.
_TRANSIENT_STATUSES = (429, 502, 503, 504)
_MAX_RECONNECT_DELAY = 30.0


@dataclass
class Event:
    """One event: ``id`` resumes the stream after it, ``kind`` is e.g. ``command.state``, ``data``
    the whole event object (``kind`` and ``at`` included)."""

    id: str
    kind: str
    data: Dict[str, Any]


class EventStream:
    """An open event stream: iterate it for Event objects; ``close()`` (or a ``with`` block) ends
    it. With ``reconnect`` a dropped or silent connection is opened again with the last id seen as
    Last-Event-ID, so the server replays what was missed; ``last_event_id`` is that id."""

    def __init__(
        self,
        transport: Transport,
        *,
        kinds: Optional[Sequence[str]] = None,
        last_event_id: Optional[str] = None,
        recent: Optional[int] = None,
        reconnect: bool = True,
        read_timeout: float = 60.0,
    ) -> None:
        self._http = transport
        self._kinds = ",".join(kinds) if kinds else None
        self.last_event_id = last_event_id
        self.reconnect = reconnect
        self._read_timeout = read_timeout
        self._retry = 2.0  # the server's `retry:` replaces this
        self._closed = False
        # `recent` replays only on a fresh connection; a reconnect resumes by id instead.
        self._response: Optional[http.client.HTTPResponse] = self._open(recent)
        self._events = self._iterate()

    def _open(self, recent: Optional[int] = None) -> http.client.HTTPResponse:
        headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
        query = {"kinds": self._kinds, "recent": None if self.last_event_id else recent}
        return self._http.open_stream("/api/v1/events", query=query, headers=headers, timeout=self._read_timeout)

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> Event:
        return next(self._events)

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        if self._response is not None:
            self._response.close()
        try:
            self._events.close()
        except ValueError:
            pass  # closed from another thread while it reads: the closed response ends it

    def _iterate(self) -> Iterator[Event]:
        while not self._closed and self._response is not None:
            response = self._response
            try:
                for msg in read_sse(lambda: response.read1(65536)):
                    if msg.retry is not None:
                        self._retry = msg.retry / 1000
                    if msg.id:
                        self.last_event_id = msg.id
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        continue
                    if isinstance(data, dict):
                        kind = data.get("kind")
                        yield Event(msg.id, kind if isinstance(kind, str) else msg.event, data)
            except (OSError, http.client.HTTPException, ValueError) as e:
                # ValueError: a read on a response closed under us. Either way the stream is gone.
                if self._closed:
                    return
                if not self.reconnect:
                    raise ConnectionFailedError(self._http.base_url, f"event stream broke: {e or type(e).__name__}") from None
            finally:
                response.close()
            if self._closed or not self.reconnect:
                return
            self._response = self._reopen()

    def _reopen(self) -> http.client.HTTPResponse:
        """Opens the stream again, waiting the server's retry interval first and longer after
        each failure; an answer that will not change by waiting (401, 404…) is raised."""
        delay = self._retry
        while True:
            time.sleep(delay)
            try:
                return self._open()
            except ApiError as e:
                if e.status not in _TRANSIENT_STATUSES:
                    raise
            except StewardError:
                pass
            delay = min(max(delay, 0.5) * 2, _MAX_RECONNECT_DELAY)


class EventsApi:
    _http: Transport

    def open_events(
        self,
        *,
        kinds: Optional[Sequence[str]] = None,
        last_event_id: Optional[str] = None,
        recent: Optional[int] = None,
        reconnect: bool = True,
        read_timeout: float = 60.0,
    ) -> EventStream:
        """Opens the stream and returns once the server has answered, so a caller can subscribe
        first and then cause the events it wants to see. ``kinds``: only these (``node.status``,
        ``command.state``, ``job.state``, ``task.state``, ``service.state``, ``alert.fired``…);
        ``last_event_id``: resume after this id; ``recent``: on a fresh stream, first replay up to
        this many recent events; ``read_timeout``: the longest silence before reconnecting (the
        server pings every 15 s)."""
        return EventStream(self._http, kinds=kinds, last_event_id=last_event_id, recent=recent, reconnect=reconnect, read_timeout=read_timeout)

    def events(self, **options: Any) -> Iterator[Event]:
        """A generator of events (open_events' options); closing the generator closes the stream."""
        with self.open_events(**options) as stream:
            yield from stream
