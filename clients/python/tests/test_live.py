"""Every resource against a real control plane with real agents. test/e2e/python-client.test.ts
starts them and passes where they are:

  STEWARD_TEST_URL, STEWARD_TEST_TOKEN  the control plane and an admin token
  STEWARD_TEST_NODES                     two online node names, comma-separated, both labelled
  STEWARD_TEST_SELECTOR                  a selector that picks exactly those two
  STEWARD_TEST_ARTIFACT_URL, …_SHA256    a tar.gz whose ./run runs until stopped (a service)
  STEWARD_TEST_HTTPS_URL, …_CA_FILE      the same control plane behind TLS, and the CA that signed it
"""

import os
import unittest
import uuid

from steward_client import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    StewardClient,
    StewardError,
    WaitTimeoutError,
)

ENV = os.environ


def live() -> StewardClient:
    if not ENV.get("STEWARD_TEST_URL"):
        raise unittest.SkipTest("no control plane: test/e2e/python-client.test.ts sets STEWARD_TEST_URL and the rest")
    return StewardClient(ENV["STEWARD_TEST_URL"], ENV["STEWARD_TEST_TOKEN"], timeout=30)


def echo(text):
    return {"command": "echo", "args": [text]}


class LiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = live()
        cls.nodes = ENV["STEWARD_TEST_NODES"].split(",")
        cls.node = cls.nodes[0]
        cls.selector = ENV["STEWARD_TEST_SELECTOR"]

    def node_id(self, name):
        return self.c.get_node(name)["id"]


class NodesTest(LiveTest):
    def test_get_by_name_and_by_id(self):
        n = self.c.get_node(self.node)
        self.assertEqual((n["name"], n["status"], n["connected"]), (self.node, "online", True))
        self.assertIn("exec.run", [t["type"] for t in n["commandTypes"]])
        self.assertEqual(self.c.get_node(n["id"])["name"], self.node)

    def test_list_filters_by_selector_and_status(self):
        self.assertEqual(sorted(n["name"] for n in self.c.list_nodes(selector=self.selector)), sorted(self.nodes))
        self.assertEqual(self.c.list_nodes(selector="pyclient-label-nobody-has"), [])
        self.assertEqual(sorted(n["name"] for n in self.c.list_nodes(status="online", selector=self.selector)), sorted(self.nodes))
        self.assertEqual([n for n in self.c.list_nodes(status="offline") if n["name"] in self.nodes], [])

    def test_limit_pages_the_list_in_its_order(self):
        everything = self.c.list_nodes()
        self.assertGreaterEqual(len(everything), 2)
        self.assertEqual([n["name"] for n in self.c.list_nodes(limit=1)], [everything[0]["name"]])


class CommandsTest(LiveTest):
    def test_exec_command_submitted_and_waited_for(self):
        key = f"py-{uuid.uuid4()}"
        first = self.c.submit_command(self.node, "exec.run", echo("hello from python"), request_id=key)
        self.assertTrue(first.created)
        self.assertEqual((first.command["type"], first.command["requestId"]), ("exec.run", key))
        done = self.c.wait_command(first.command["id"], timeout=60)
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual((done["result"]["exitCode"], done["result"]["stdout"]), (0, "hello from python\n"))
        again = self.c.submit_command(self.node, "exec.run", echo("hello from python"), request_id=key)
        self.assertEqual((again.created, again.command["id"]), (False, first.command["id"]))
        self.assertEqual(self.c.get_command(first.command["id"])["state"], "succeeded")

    def test_a_failing_command_is_returned_with_its_error(self):
        r = self.c.submit_command(self.node, "exec.run", {"command": "sh", "args": ["-c", "echo oops >&2; exit 3"]})
        done = self.c.wait_command(r.command["id"], timeout=60)
        self.assertEqual(done["state"], "failed", done)
        self.assertIsNotNone(done["error"])

    def test_cancel_then_cancelling_again_is_a_conflict(self):
        r = self.c.submit_command(self.node, "exec.run", {"command": "sleep", "args": ["60"]})
        self.assertEqual(self.c.cancel_command(r.command["id"])["state"], "cancelled")
        self.assertEqual(self.c.wait_command(r.command["id"], timeout=30)["state"], "cancelled")
        with self.assertRaises(ConflictError) as cm:
            self.c.cancel_command(r.command["id"])
        self.assertEqual((cm.exception.status, cm.exception.code), (409, "invalid_state"))

    def test_list_pages_newest_first_with_filters(self):
        ids = [self.c.submit_command(self.node, "exec.run", echo(f"page {i}")).command["id"] for i in range(3)]
        for i in ids:
            self.c.wait_command(i, timeout=60)
        full = self.c.list_commands(node=self.node, type="exec.run")
        page = self.c.list_commands(node=self.node, type="exec.run", limit=2)
        self.assertEqual([x["id"] for x in page], [x["id"] for x in full[:2]])
        self.assertEqual([x["id"] for x in page], ids[::-1][:2])
        self.assertGreaterEqual(page[0]["createdAt"], page[1]["createdAt"])
        self.assertTrue(all(x["state"] == "succeeded" for x in self.c.list_commands(node=self.node, state="succeeded")))
        with self.assertRaises(BadRequestError) as cm:
            self.c.list_commands(limit=0)
        self.assertEqual(cm.exception.code, "validation_failed")
        self.assertIn("limit", [i["field"].split(".")[-1] for i in cm.exception.issues])


class JobsTest(LiveTest):
    def test_job_on_a_selector_runs_on_every_node_it_picks(self):
        job = self.c.create_job("exec.run", echo("from a job"), selector=self.selector)
        self.assertEqual(job["total"], 2)
        done = self.c.wait_job(job["id"], timeout=90)
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual(sorted(x["nodeId"] for x in done["commands"]), sorted(self.node_id(n) for n in self.nodes))
        self.assertEqual({x["result"]["stdout"] for x in done["commands"]}, {"from a job\n"})
        self.assertIn(job["id"], [j["id"] for j in self.c.list_jobs(state="succeeded")])
        self.assertEqual(len(self.c.list_jobs(limit=1)), 1)

    def test_job_on_named_nodes_and_a_target_is_required(self):
        job = self.c.create_job("exec.run", echo("one node"), nodes=[self.node])
        self.assertEqual(job["total"], 1)
        self.assertEqual(self.c.wait_job(job["id"], timeout=60)["counts"].get("succeeded"), 1)
        with self.assertRaises(ValueError):
            self.c.create_job("exec.run", echo("x"))
        with self.assertRaises(ValueError):
            self.c.create_job("exec.run", echo("x"), nodes=[self.node], all=True)


class TasksTest(LiveTest):
    def test_task_submitted_placed_and_waited_for(self):
        r = self.c.submit_task("exec", {"command": "sh", "args": ["-c", "echo task-ok"]}, requirements={"selector": self.selector}, priority="high")
        self.assertTrue(r.created)
        done = self.c.wait_task(r.task["id"], timeout=90)
        self.assertEqual((done["state"], done["exitCode"]), ("succeeded", 0), done)
        self.assertIn(done["nodeId"], [self.node_id(n) for n in self.nodes])
        self.assertEqual(done["attemptList"][-1]["state"], "succeeded")
        self.assertIn(r.task["id"], [t["id"] for t in self.c.list_tasks(state="succeeded", priority="high")])
        self.assertEqual(len(self.c.list_tasks(limit=1)), 1)

    def test_a_task_no_node_can_take_waits_times_out_and_is_cancelled(self):
        r = self.c.submit_task("exec", {"command": "true"}, requirements={"capabilities": ["pyclient-never"]})
        with self.assertRaises(WaitTimeoutError) as cm:
            self.c.wait_task(r.task["id"], timeout=1.5)
        self.assertEqual((cm.exception.code, cm.exception.details["last"]["state"]), ("wait_timeout", "queued"))
        self.assertEqual(self.c.cancel_task(r.task["id"])["state"], "cancelled")
        self.assertEqual(self.c.wait_task(r.task["id"], timeout=10)["state"], "cancelled")
        self.assertIn(r.task["id"], [t["id"] for t in self.c.list_tasks(state="cancelled")])


class ServicesTest(LiveTest):
    def test_apply_runs_it_and_delete_removes_it(self):
        name = f"pyclient-{uuid.uuid4().hex[:8]}"
        node_id = self.node_id(self.node)
        spec = {
            "version": "1.0.0",
            "artifact": {"url": ENV["STEWARD_TEST_ARTIFACT_URL"], "sha256": ENV["STEWARD_TEST_ARTIFACT_SHA256"]},
            "command": "./run",
            "target": {"nodes": [self.node]},
        }
        # Subscribed first, so the agent's report of the running service cannot be missed.
        with self.c.open_events(kinds=["service.state"], reconnect=False, read_timeout=60) as events:
            put = self.c.put_service(name, spec)
            self.assertTrue(put.created)
            self.assertEqual((put.service["name"], put.service["targeted"]), (name, 1))
            for e in events:
                if e.data["service"] == name and e.data["nodeId"] == node_id and e.data["state"] == "running":
                    break
        svc = self.c.get_service(name)
        self.assertEqual([(n["nodeName"], n["state"], n["version"]) for n in svc["nodes"]], [(self.node, "running", "1.0.0")])
        self.assertIn(name, [s["name"] for s in self.c.list_services()])
        again = self.c.put_service(name, spec)
        self.assertEqual((again.created, again.service["revision"]), (False, svc["revision"]))
        self.assertIsNone(self.c.delete_service(name))
        with self.assertRaises(NotFoundError) as cm:
            self.c.get_service(name)
        self.assertEqual(cm.exception.status, 404)
        self.assertNotIn(name, [s["name"] for s in self.c.list_services()])


class EventsTest(LiveTest):
    def command_events(self, stream, command_id):
        out = []
        for e in stream:
            if e.kind == "command.state" and e.data["commandId"] == command_id:
                out.append(e)
                if e.data["state"] in ("succeeded", "failed", "timed_out", "cancelled", "expired"):
                    return out
        self.fail("the stream ended first")

    def test_live_events_then_resume_after_an_id(self):
        with self.c.open_events(kinds=["command.state"], reconnect=False, read_timeout=60) as stream:
            r = self.c.submit_command(self.node, "exec.run", echo("evented"))
            seen = self.command_events(stream, r.command["id"])
        self.assertEqual(seen[-1].data["state"], "succeeded")
        self.assertGreaterEqual(len(seen), 2, [e.data["state"] for e in seen])
        self.assertEqual({e.kind for e in seen}, {"command.state"})
        # Resuming after the first: the server replays from the next one on, the first not again.
        gen = self.c.events(kinds=["command.state"], last_event_id=seen[0].id, reconnect=False, read_timeout=60)
        try:
            replayed = self.command_events(gen, r.command["id"])
        finally:
            gen.close()
        self.assertEqual([e.id for e in replayed], [e.id for e in seen[1:]])

    def test_recent_replays_on_a_fresh_stream(self):
        r = self.c.submit_command(self.node, "exec.run", echo("before the stream"))
        self.c.wait_command(r.command["id"], timeout=60)
        with self.c.open_events(kinds=["command.state"], recent=50, reconnect=False, read_timeout=60) as stream:
            seen = self.command_events(stream, r.command["id"])
        self.assertEqual(seen[-1].data["state"], "succeeded")


class ErrorsTest(LiveTest):
    def test_unknown_node_is_not_found_with_the_api_code(self):
        with self.assertRaises(StewardError) as cm:
            self.c.get_node("pyclient-no-such-node")
        e = cm.exception
        self.assertIsInstance(e, NotFoundError)
        self.assertIsInstance(e, ApiError)
        self.assertEqual((e.status, e.code), (404, "not_found"))
        self.assertEqual(e.details["id"], "pyclient-no-such-node")
        self.assertIn("pyclient-no-such-node", e.message)
        with self.assertRaises(NotFoundError):
            self.c.submit_command("pyclient-no-such-node", "exec.run", echo("x"))

    def test_a_bad_body_names_the_field(self):
        with self.assertRaises(BadRequestError) as cm:
            self.c.submit_command(self.node, "Not A Type", {})
        self.assertEqual((cm.exception.status, cm.exception.code), (400, "validation_failed"))
        self.assertIn("type", [i["field"] for i in cm.exception.issues])

    def test_a_wrong_token_is_unauthorized(self):
        with self.assertRaises(AuthenticationError) as cm:
            StewardClient(ENV["STEWARD_TEST_URL"], "not-a-token").list_nodes()
        self.assertEqual((cm.exception.status, cm.exception.code), (401, "unauthorized"))
        with self.assertRaises(AuthenticationError):
            StewardClient(ENV["STEWARD_TEST_URL"], "not-a-token").open_events()


class HttpsTest(LiveTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not ENV.get("STEWARD_TEST_HTTPS_URL"):
            raise unittest.SkipTest("no TLS endpoint: STEWARD_TEST_HTTPS_URL and STEWARD_TEST_HTTPS_CA_FILE are not set")
        cls.url, cls.ca = ENV["STEWARD_TEST_HTTPS_URL"], ENV["STEWARD_TEST_HTTPS_CA_FILE"]
        cls.token = ENV["STEWARD_TEST_TOKEN"]

    def test_a_private_ca_file_is_trusted(self):
        c = StewardClient(self.url, self.token, ca_file=self.ca)
        self.assertEqual(c.get_node(self.node)["name"], self.node)
        r = c.submit_command(self.node, "exec.run", echo("over tls"))
        self.assertEqual(c.wait_command(r.command["id"], timeout=60)["result"]["stdout"], "over tls\n")
        with c.open_events(kinds=["command.state"], recent=50, reconnect=False) as stream:
            self.assertEqual(next(stream).kind, "command.state")

    def test_without_the_ca_the_certificate_is_refused(self):
        with self.assertRaises(ConnectionFailedError) as cm:
            StewardClient(self.url, self.token).list_nodes()
        self.assertEqual((cm.exception.status, cm.exception.code), (0, "connection_failed"))
        self.assertIn("certificate verify failed", cm.exception.message)

    def test_verify_false_skips_the_check(self):
        self.assertEqual(StewardClient(self.url, self.token, verify=False).get_node(self.node)["name"], self.node)


if __name__ == "__main__":
    unittest.main()
