"""Commands (one typed request to one node) and jobs (one command fanned out over many nodes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from .transport import Transport, camel_fields, segment
from .waiting import COMMAND_END_STATES, JOB_END_STATES, held_timeout, wait_query, wait_until_end


@dataclass
class SubmitResult:
    command: Dict[str, Any]
    #: False when the server returned an earlier command for the same ``request_id``.
    created: bool


class CommandsApi:
    _http: Transport

    def submit_command(
        self,
        node: str,
        type: str,
        payload: Optional[Dict[str, Any]] = None,
        *,
        request_id: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        ttl_ms: Optional[int] = None,
    ) -> SubmitResult:
        """Queues ``type`` (``exec.run``, ``fs.list``…) for one node (id or name). With a
        ``request_id`` a repeated submit returns the first command (``created`` False)."""
        body = {"node": node, "type": type, "payload": payload or {}, **camel_fields(request_id=request_id, timeout_ms=timeout_ms, ttl_ms=ttl_ms)}
        status, command = self._http.request("POST", "/commands", body=body)
        return SubmitResult(command, status == 201)

    def list_commands(
        self,
        *,
        node: Optional[str] = None,
        state: Optional[str] = None,
        type: Optional[str] = None,
        job: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> List[Dict[str, Any]]:
        """Newest first; ``limit`` at most this many (server default 500, max 10000)."""
        query = {"node": node, "state": state, "type": type, "job": job, "limit": limit}
        return self._http.request("GET", "/commands", query=query)[1]["items"]

    def get_command(self, id: str, *, wait: Optional[float] = None) -> Dict[str, Any]:
        """``wait``: seconds (0–300) the server may hold the answer until the command ends."""
        return self._http.request("GET", f"/commands/{segment(id)}", query=wait_query(wait), timeout=held_timeout(self._http, wait))[1]

    def cancel_command(self, id: str) -> Dict[str, Any]:
        return self._http.request("POST", f"/commands/{segment(id)}/cancel")[1]

    def wait_command(self, id: str, *, timeout: Optional[float] = None) -> Dict[str, Any]:
        """The command once it has ended (succeeded, failed, timed_out, cancelled, expired); a
        failed command is returned, not raised. WaitTimeoutError after ``timeout`` seconds."""
        return wait_until_end("command", id, lambda hold: self.get_command(id, wait=hold), COMMAND_END_STATES, timeout)


class JobsApi:
    _http: Transport

    def create_job(
        self,
        type: str,
        payload: Optional[Dict[str, Any]] = None,
        *,
        nodes: Optional[Sequence[str]] = None,
        selector: Optional[str] = None,
        all: bool = False,
        batch_size: Optional[int] = None,
        request_id: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        ttl_ms: Optional[int] = None,
    ) -> Dict[str, Any]:
        """One command on many nodes, targeted by exactly one of ``nodes`` (ids or names),
        ``selector`` (labels) or ``all=True``. Returns the job as a summary: counts and the first
        page of its commands (``next`` is the cursor of the rest; ``get_job`` reads them all)."""
        targets = [t for t in ({"nodes": list(nodes)} if nodes is not None else None, {"selector": selector} if selector is not None else None, {"all": True} if all else None) if t]
        if len(targets) != 1:
            raise ValueError("create_job needs exactly one of nodes=, selector= or all=True")
        body = {"target": targets[0], "type": type, "payload": payload or {}}
        body.update(camel_fields(batch_size=batch_size, request_id=request_id, timeout_ms=timeout_ms, ttl_ms=ttl_ms))
        return self._http.request("POST", "/jobs", body=body)[1]

    def list_jobs(self, *, state: Optional[str] = None, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Newest first; ``limit`` at most this many (server default 500, max 10000)."""
        return self._http.request("GET", "/jobs", query={"state": state, "limit": limit})[1]["items"]

    def get_job(self, id: str, *, wait: Optional[float] = None, page_size: Optional[int] = None) -> Dict[str, Any]:
        """The job with every command: the server gives them a page at a time (``page_size``
        each, its default 1000), read one after another; ``wait`` holds the first page."""
        job = self.get_job_page(id, wait=wait, limit=page_size)
        commands = list(job["commands"])
        after = job.get("next")
        while after:
            page = self.get_job_page(id, limit=page_size, after=after)
            commands.extend(page["commands"])
            after = page.get("next")
        return {**job, "commands": commands, "next": None}

    def get_job_page(self, id: str, *, wait: Optional[float] = None, limit: Optional[int] = None, after: Optional[str] = None) -> Dict[str, Any]:
        """One page of the job's commands, ordered by id; pass its ``next`` as ``after`` for the page after it."""
        query: Dict[str, Any] = {**wait_query(wait), "limit": limit, "after": after}
        return self._http.request("GET", f"/jobs/{segment(id)}", query=query, timeout=held_timeout(self._http, wait))[1]

    def cancel_job(self, id: str) -> Dict[str, Any]:
        return self._http.request("POST", f"/jobs/{segment(id)}/cancel")[1]

    def wait_job(self, id: str, *, timeout: Optional[float] = None) -> Dict[str, Any]:
        """The job (with its commands) once every command has ended."""
        return wait_until_end("job", id, lambda hold: self.get_job(id, wait=hold), JOB_END_STATES, timeout)
