"""Services: long-running programs whose desired state the control plane keeps on its nodes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List

from .transport import Transport, segment


@dataclass
class ServicePutResult:
    service: Dict[str, Any]
    #: True when the service did not exist before.
    created: bool


class ServicesApi:
    _http: Transport

    def put_service(self, name: str, spec: Dict[str, Any]) -> ServicePutResult:
        """Creates or changes (applies) a service's desired state. ``spec`` is the API's body:
        ``version``, ``artifact``, ``command``, ``target`` (``{"nodes": [...]}``,
        ``{"selector": ...}`` or ``{"all": True}``) and the optional fields, camelCase."""
        status, service = self._http.request("PUT", f"/services/{segment(name)}", body=spec)
        return ServicePutResult(service, status == 201)

    def list_services(self) -> List[Dict[str, Any]]:
        return self._http.request("GET", "/services")[1]["items"]

    def get_service(self, name: str) -> Dict[str, Any]:
        """The spec and, per targeted node, what its agent reports (``nodes[].state``…)."""
        return self._http.request("GET", f"/services/{segment(name)}")[1]

    def delete_service(self, name: str) -> None:
        """Uninstalls the service from every node that has it."""
        self._http.request("DELETE", f"/services/{segment(name)}")
