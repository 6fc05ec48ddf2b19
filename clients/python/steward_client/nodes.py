"""Nodes: the managed machines."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .transport import Transport, segment


class NodesApi:
    _http: Transport

    def list_nodes(self, *, status: Optional[str] = None, selector: Optional[str] = None, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Nodes by name. ``status``: ``online`` (connected) / ``offline`` / ``reconnecting``
        (online before a control-plane restart, not back yet); ``selector``: labels as
        ``k=v,k2!=v2,k3,!k4``; ``limit``: at most this many (server default 500, max 10000)."""
        return self._http.request("GET", "/nodes", query={"status": status, "selector": selector, "limit": limit})[1]["items"]

    def get_node(self, id_or_name: str) -> Dict[str, Any]:
        return self._http.request("GET", f"/nodes/{segment(id_or_name)}")[1]
