"""Waiting for a command, job or task to end, with the API's held requests (``?wait=``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Collection, Dict, Optional

from .errors import WaitTimeoutError

if TYPE_CHECKING:
    from .transport import Transport

# One held request lasts at most this long: the API allows 300 s, but proxies in front of a
# control plane often close a quiet request after 60 s (nginx's proxy_read_timeout).
HOLD_SECONDS = 50.0

COMMAND_END_STATES = frozenset({"succeeded", "failed", "timed_out", "cancelled", "expired"})
JOB_END_STATES = frozenset({"succeeded", "failed", "cancelled"})
TASK_END_STATES = frozenset({"succeeded", "failed", "cancelled"})


def wait_until_end(
    what: str,
    ident: str,
    get: Callable[[float], Dict[str, Any]],
    end_states: Collection[str],
    timeout: Optional[float],
) -> Dict[str, Any]:
    """Calls ``get(hold)`` (the server holds each call until the thing ends or ``hold`` seconds
    pass) until its state is an end state; raises WaitTimeoutError after ``timeout`` seconds
    (None: no limit)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        hold = HOLD_SECONDS if deadline is None else max(0.0, min(HOLD_SECONDS, deadline - time.monotonic()))
        current = get(round(hold, 3))
        if current.get("state") in end_states:
            return current
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeoutError(what, ident, timeout or 0.0, current)


def wait_query(wait: Optional[float]) -> Dict[str, Any]:
    return {"wait": wait} if wait else {}


def held_timeout(http: "Transport", wait: Optional[float]) -> float:
    """A held request's socket timeout: the hold plus the usual allowance for an answer."""
    return http.timeout + (wait or 0.0)
