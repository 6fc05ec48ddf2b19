"""StewardClient: every resource's methods over one HTTP transport."""

from __future__ import annotations

import ssl
from typing import Optional

from .commands import CommandsApi, JobsApi
from .events import EventsApi
from .nodes import NodesApi
from .services import ServicesApi
from .tasks import TasksApi
from .transport import Transport


class StewardClient(NodesApi, CommandsApi, JobsApi, TasksApi, ServicesApi, EventsApi):
    """Client for the Steward REST API.

    ``base_url`` is the control plane's address (``http://127.0.0.1:7070``, no ``/api/v1``) and
    ``token`` an API token (bearer). For https: ``ca_file`` trusts that CA (a private one),
    ``verify=False`` trusts anything (tests only), ``cert_file``/``key_file`` present a client
    certificate, or pass a ready ``ssl_context``. ``timeout`` bounds each request (seconds; a held
    wait adds its hold). ``retries``: how many times an answer of 429 or 503 is retried after its
    Retry-After (at most ``max_retry_wait`` seconds each); 0, the default, raises at once.
    """

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
        self._http = Transport(
            base_url,
            token,
            ca_file=ca_file,
            verify=verify,
            cert_file=cert_file,
            key_file=key_file,
            ssl_context=ssl_context,
            timeout=timeout,
            retries=retries,
            max_retry_wait=max_retry_wait,
        )

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def __repr__(self) -> str:
        return f"StewardClient({self.base_url!r})"
