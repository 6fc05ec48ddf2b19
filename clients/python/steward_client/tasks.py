"""Tasks: compute work the scheduler places on a node that fits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .transport import Transport, camel_fields, segment
from .waiting import TASK_END_STATES, held_timeout, wait_query, wait_until_end


@dataclass
class TaskSubmitResult:
    task: Dict[str, Any]
    #: False when the server returned an earlier task for the same ``request_id``.
    created: bool


class TasksApi:
    _http: Transport

    def submit_task(
        self,
        kind: str,
        payload: Dict[str, Any],
        *,
        requirements: Optional[Dict[str, Any]] = None,
        priority: Optional[str] = None,
        strategy: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        max_retries: Optional[int] = None,
        retry_delay_ms: Optional[int] = None,
        retry_on_node_loss: Optional[bool] = None,
        request_id: Optional[str] = None,
    ) -> TaskSubmitResult:
        """``kind`` ``exec`` (payload ``{command, args?, cwd?, env?}``) or ``script`` (payload
        ``{interpreter, script, …}``); ``requirements`` as the API has them (``cpuCores``,
        ``selector``, ``capabilities``…)."""
        body = {"kind": kind, "payload": payload}
        body.update(
            camel_fields(
                requirements=requirements,
                priority=priority,
                strategy=strategy,
                timeout_ms=timeout_ms,
                max_retries=max_retries,
                retry_delay_ms=retry_delay_ms,
                retry_on_node_loss=retry_on_node_loss,
                request_id=request_id,
            )
        )
        status, task = self._http.request("POST", "/tasks", body=body)
        return TaskSubmitResult(task, status == 201)

    def list_tasks(self, *, state: Optional[str] = None, node: Optional[str] = None, priority: Optional[str] = None, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Newest first; ``limit`` at most this many (server default 500, max 10000)."""
        return self._http.request("GET", "/tasks", query={"state": state, "node": node, "priority": priority, "limit": limit})[1]["items"]

    def get_task(self, id: str, *, wait: Optional[float] = None) -> Dict[str, Any]:
        """The task with its ``attemptList``; ``wait`` as for get_command."""
        return self._http.request("GET", f"/tasks/{segment(id)}", query=wait_query(wait), timeout=held_timeout(self._http, wait))[1]

    def cancel_task(self, id: str) -> Dict[str, Any]:
        return self._http.request("POST", f"/tasks/{segment(id)}/cancel")[1]

    def wait_task(self, id: str, *, timeout: Optional[float] = None) -> Dict[str, Any]:
        """The task once it has ended (succeeded, failed, cancelled), retries included."""
        return wait_until_end("task", id, lambda hold: self.get_task(id, wait=hold), TASK_END_STATES, timeout)
