"""Drive Sluice's Kafka Connect REST API with PyPI's kafka-connect-py (1.0.0), unchanged.

Run by tests/third_party_client.rs with:
  SLUICE_REST_URL        the worker's REST address (http://127.0.0.1:PORT)
  SLUICE_CONNECTOR       the connector's name
  SLUICE_CONFIG          the connector's config (JSON object)
  SLUICE_EVENTS          the file sink's path (JSON lines)
  SLUICE_SNAPSHOT_IDS    the ids of the rows the snapshot must deliver (comma-separated)

Create, list, status, pause, resume, stop, offsets get/alter/reset, restart, validate and
delete. kafka-connect-py has no offsets calls (KIP-875 came after it), so those three go
through urllib, in this same script. Every answer is checked here; on a mismatch the script
exits 1 with the reason. On success it prints a JSON transcript the Rust test checks again.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

from kafka_connect import KafkaConnect
from requests.exceptions import HTTPError

BASE = os.environ["SLUICE_REST_URL"]
NAME = os.environ["SLUICE_CONNECTOR"]
CONFIG = json.loads(os.environ["SLUICE_CONFIG"])
EVENTS = os.environ["SLUICE_EVENTS"]
SNAPSHOT_IDS = sorted(int(i) for i in os.environ["SLUICE_SNAPSHOT_IDS"].split(","))
PLUGIN = "io.debezium.connector.postgresql.PostgresConnector"
WAIT_S = 60


def fail(message):
    print(f"kafka-connect-py lifecycle: {message}", file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def wait(what, check):
    """Poll check() until it returns something truthy; fail after WAIT_S seconds."""
    deadline = time.monotonic() + WAIT_S
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except HTTPError as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.1)
    fail(f"timed out waiting for {what}; last answer: {last!r}")


def offsets_call(method, body=None):
    """GET/PATCH/DELETE /connectors/NAME/offsets: (status, JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{BASE}/connectors/{NAME}/offsets", data=data, method=method
    )
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def snapshot_ids():
    """The ids of the `after` images in the sink file, with repeats."""
    ids = []
    try:
        with open(EVENTS) as f:
            for line in f:
                line = line.strip()
                if not line.endswith("}"):
                    continue
                value = json.loads(line).get("value") or {}
                after = value.get("after") or {}
                if "id" in after:
                    ids.append(after["id"])
    except FileNotFoundError:
        pass
    return ids


def state_is(connector_state, task_state):
    def check():
        status = kc.get_connector_status(NAME)
        tasks = status.get("tasks", [])
        ok = status["connector"]["state"] == connector_state and (
            (task_state is None and tasks == [])
            or (task_state is not None and tasks and tasks[0]["state"] == task_state)
        )
        return status if ok else None

    return check


kc = KafkaConnect(url=BASE)
transcript = {}

info = kc.get_cluster_info()
expect(isinstance(info.get("version"), str), f"GET / has no version: {info}")
transcript["cluster"] = info

plugins = kc.list_connector_plugins()
expect(
    any(p.get("class") == PLUGIN for p in plugins),
    f"{PLUGIN} is not among the plugins: {plugins}",
)

# validate: the config is valid; a bad port is reported on its key.
# Connect's validate wants the name in the config too.
to_validate = dict(CONFIG, **{"connector.class": PLUGIN, "name": NAME})
valid = kc.validate_connector_config(PLUGIN, to_validate)
expect(valid.get("error_count") == 0, f"validate reports errors for a valid config: {valid}")
bad = kc.validate_connector_config(
    PLUGIN, dict(to_validate, **{"database.port": "not-a-port"})
)
expect(bad.get("error_count", 0) >= 1, f"validate accepts database.port=not-a-port: {bad}")
port_errors = [
    c["value"]["errors"]
    for c in bad.get("configs", [])
    if c.get("value", {}).get("name") == "database.port"
]
expect(port_errors and port_errors[0], f"no error on database.port: {bad}")
transcript["validate_error_count"] = bad["error_count"]

# create, list, status
expect(kc.list_connectors() == [], "the worker starts with connectors")
created = kc.create_connector({"name": NAME, "config": CONFIG})
expect(created.get("name") == NAME, f"create answered {created}")
expect(created.get("type") == "source", f"create answered {created}")
expect(
    created["config"].get("database.password") == "[hidden]",
    f"create echoes the password: {created['config'].get('database.password')!r}",
)
transcript["created"] = created
try:
    kc.create_connector({"name": NAME, "config": CONFIG})
    fail("creating the connector twice succeeded")
except HTTPError as e:
    expect(e.response.status_code == 409, f"second create: {e.response.status_code}")
expect(kc.list_connectors() == [NAME], f"list: {kc.list_connectors()}")
expanded = kc.list_connectors(expand="status")
expect(NAME in expanded, f"list?expand=status: {expanded}")
wait("the connector to run", state_is("RUNNING", "RUNNING"))
ids = wait(
    "the snapshot rows in the sink",
    lambda: (lambda got: got if sorted(set(got)) == SNAPSHOT_IDS else None)(snapshot_ids()),
)
expect(sorted(ids) == SNAPSHOT_IDS, f"snapshot rows repeated: {ids}")
expect(kc.get_connector(NAME)["name"] == NAME, "GET /connectors/NAME")
expect(kc.get_connector_config(NAME).get("topic.prefix") == CONFIG["topic.prefix"], "config")
expect(
    kc.list_connector_tasks(NAME)[0]["id"] == {"connector": NAME, "task": 0},
    f"tasks: {kc.list_connector_tasks(NAME)}",
)
expect(kc.get_connector_task_status(NAME, 0)["state"] == "RUNNING", "task status")

# pause, resume
kc.pause_connector(NAME)
wait("the connector to pause", state_is("PAUSED", "PAUSED"))
kc.resume_connector(NAME)
wait("the connector to resume", state_is("RUNNING", "RUNNING"))

# restart (connector and tasks: 202 with the status; the connector alone: 204), task restart
restarted = kc.restart_connector(NAME, include_tasks=True, only_failed=False)
expect(
    isinstance(restarted, dict) and restarted.get("name") == NAME,
    f"restart?includeTasks=true answered {restarted!r}",
)
expect(kc.restart_connector(NAME) is None, "restart without tasks has no body (204)")
kc.restart_connector_task(NAME, 0)
wait("the connector to run after the restarts", state_is("RUNNING", "RUNNING"))

# stop, then offsets get / alter / reset (urllib: kafka-connect-py has no offsets calls)
kc.stop_connector(NAME)
wait("the connector to stop", state_is("STOPPED", None))
status, got = offsets_call("GET")
expect(status == 200, f"GET offsets: {status} {got}")
expect(len(got["offsets"]) == 1, f"GET offsets: {got}")
partition = got["offsets"][0]["partition"]
stored = got["offsets"][0]["offset"]
expect(partition == {"server": CONFIG["topic.prefix"]}, f"offset partition: {partition}")
expect(isinstance(stored.get("lsn"), int) and stored["lsn"] > 0, f"offset: {stored}")
transcript["offsets"] = got

earlier = dict(stored, lsn=stored["lsn"] - 1)
status, altered = offsets_call("PATCH", {"offsets": [{"partition": partition, "offset": earlier}]})
expect(status == 200, f"PATCH offsets: {status} {altered}")
expect(
    altered.get("message") == "The offsets for this connector have been altered successfully",
    f"PATCH offsets: {altered}",
)
status, got = offsets_call("GET")
expect(got["offsets"][0]["offset"]["lsn"] == stored["lsn"] - 1, f"altered offset: {got}")
transcript["altered"] = got

status, reset = offsets_call("DELETE")
expect(status == 200, f"DELETE offsets: {status} {reset}")
expect(
    reset.get("message") == "The offsets for this connector have been reset successfully",
    f"DELETE offsets: {reset}",
)
status, got = offsets_call("GET")
expect(got == {"offsets": []}, f"offsets after reset: {got}")
transcript["reset"] = got

# Put the stored offset back, so the resumed connector goes on where it stopped (no new
# snapshot), then resume.
status, _ = offsets_call("PATCH", {"offsets": [{"partition": partition, "offset": stored}]})
expect(status == 200, f"restoring the offset: {status}")
kc.resume_connector(NAME)
wait("the connector to run after the stop", state_is("RUNNING", "RUNNING"))

# delete
kc.delete_connector(NAME)
wait("the connector to be gone", lambda: kc.list_connectors() == [])
try:
    kc.get_connector_status(NAME)
    fail("the deleted connector still has a status")
except HTTPError as e:
    expect(e.response.status_code == 404, f"status after delete: {e.response.status_code}")
transcript["sink_ids"] = snapshot_ids()

print(json.dumps(transcript))
