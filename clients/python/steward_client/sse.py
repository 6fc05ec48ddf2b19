"""Server-Sent Events as the WHATWG event-stream format defines them, parsed as bytes arrive."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional


@dataclass
class SseMessage:
    """One dispatched event. ``id`` is the last ``id:`` seen so far (ids carry over to later events)."""

    id: str
    event: str
    data: str
    retry: Optional[int] = None


class SseParser:
    """Feed it text in pieces of any size; it returns the events completed so far. A piece may end
    between the CR and LF of a CRLF, so a trailing CR waits for the next piece."""

    def __init__(self) -> None:
        self._buffer = ""
        self._started = False
        self._last_id = ""
        self._event = ""
        self._data: List[str] = []
        self._retry: Optional[int] = None

    def push(self, text: str) -> List[SseMessage]:
        if not self._started and text:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        self._buffer += text
        out: List[SseMessage] = []
        start = 0
        i = 0
        buf = self._buffer
        while i < len(buf):
            ch = buf[i]
            if ch not in "\r\n":
                i += 1
                continue
            if ch == "\r" and i == len(buf) - 1:
                break
            line = buf[start:i]
            if ch == "\r" and buf[i + 1] == "\n":
                i += 1
            i += 1
            start = i
            msg = self._line(line)
            if msg is not None:
                out.append(msg)
        self._buffer = buf[start:]
        return out

    def end(self) -> List[SseMessage]:
        """End of stream: a lone trailing CR still ends its line; an unterminated event is dropped."""
        out: List[SseMessage] = []
        if self._buffer.endswith("\r"):
            msg = self._line(self._buffer[:-1])
            if msg is not None:
                out.append(msg)
        self._buffer = ""
        self._data = []
        self._event = ""
        self._retry = None
        return out

    def _line(self, line: str) -> Optional[SseMessage]:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field == "retry":
            if value.isdigit() and value.isascii():
                self._retry = int(value)
        return None

    def _dispatch(self) -> Optional[SseMessage]:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if not data:
            return None
        return SseMessage(self._last_id, event or "message", "\n".join(data), retry)


def read_sse(read: Callable[[], bytes]) -> Iterator[SseMessage]:
    """The events of a byte stream; ``read()`` returns what has arrived, ``b""`` at its end. UTF-8
    sequences split across reads are kept whole."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parser = SseParser()
    while True:
        chunk = read()
        if not chunk:
            break
        yield from parser.push(decoder.decode(chunk))
    yield from parser.push(decoder.decode(b"", final=True))
    yield from parser.end()
