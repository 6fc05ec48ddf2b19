"""Every failure the client raises: one base class, StewardError, with the API's stable code."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Type


class StewardError(Exception):
    """A failed call. ``code`` is the API's stable error code (``not_found``, ``validation_failed``…),
    ``status`` the HTTP status, 0 when no HTTP answer arrived at all, so callers can tell "the
    server said no" from "there was no server". ``details`` is the envelope's ``details``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @property
    def issues(self) -> List[Dict[str, str]]:
        """Field issues of a ``validation_failed`` answer (``[{field, rule}]``), ``[]`` when none."""
        issues = self.details.get("issues") if isinstance(self.details, dict) else None
        if not isinstance(issues, list):
            return []
        return [i for i in issues if isinstance(i, dict) and isinstance(i.get("field"), str) and isinstance(i.get("rule"), str)]

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.status == 0 else f"{self.code} (HTTP {self.status}): {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class ConnectionFailedError(StewardError):
    """No HTTP answer: refused, unresolvable, timed out, or the TLS handshake failed."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(0, "connection_failed", f"cannot reach the Steward server at {url}: {reason}", {"url": url, "reason": reason})


class WaitTimeoutError(StewardError):
    """A ``wait_*`` call gave up before the command, job or task ended; ``details['last']`` is what it saw last."""

    def __init__(self, what: str, ident: str, timeout: float, last: Any) -> None:
        super().__init__(0, "wait_timeout", f"{what} {ident} did not end within {timeout:g} s", {"id": ident, "last": last})


class ApiError(StewardError):
    """The server answered with an error status; subclasses by status below."""


class BadRequestError(ApiError):
    """400: the request was refused as it stands (``validation_failed``, ``malformed_json``…)."""


class AuthenticationError(ApiError):
    """401: no token, or one the server does not know."""


class PermissionDeniedError(ApiError):
    """403: the token may not do this."""


class NotFoundError(ApiError):
    """404: no such node, command, job, task, service (or route)."""


class ConflictError(ApiError):
    """409: the resource's state does not allow this now."""


class UnprocessableError(ApiError):
    """413, 415, 422: the body is too large, of the wrong type, or cannot be acted on."""


class RateLimitedError(ApiError):
    """429: too many requests; ``retry_after`` is the server's Retry-After in seconds, if it gave one."""

    retry_after: Optional[float] = None


class ServerError(ApiError):
    """500 and other 5xx answers."""


class UnavailableError(ServerError):
    """503: the server cannot serve now (draining, store unavailable); ``retry_after`` as for 429."""

    retry_after: Optional[float] = None


_BY_STATUS: Dict[int, Type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: UnprocessableError,
    415: UnprocessableError,
    422: UnprocessableError,
    429: RateLimitedError,
    503: UnavailableError,
}


def error_from_answer(status: int, body: Any, retry_after: Optional[float] = None) -> ApiError:
    """The error for an HTTP answer: the ``{error: {code, message, details}}`` envelope when the body
    is one, else ``http_<status>`` with the start of the body as the message."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and isinstance(err.get("code"), str) and isinstance(err.get("message"), str):
        e = cls(status, err["code"], err["message"], err.get("details"))
    else:
        text = body if isinstance(body, str) else ("" if body is None else json.dumps(body))
        e = cls(status, f"http_{status}", f"HTTP {status}: {text[:300]}" if text else f"HTTP {status}")
    if retry_after is not None:
        e.retry_after = retry_after  # type: ignore[attr-defined]
    return e
