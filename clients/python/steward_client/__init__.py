"""Python client for the Steward control plane's REST API: standard library only."""

from .client import StewardClient
from .commands import SubmitResult
from .errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    StewardError,
    UnavailableError,
    UnprocessableError,
    WaitTimeoutError,
)
from .events import Event, EventStream
from .services import ServicePutResult
from .tasks import TaskSubmitResult

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ConnectionFailedError",
    "Event",
    "EventStream",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServerError",
    "ServicePutResult",
    "StewardClient",
    "StewardError",
    "SubmitResult",
    "TaskSubmitResult",
    "UnavailableError",
    "UnprocessableError",
    "WaitTimeoutError",
]
