"""One local Ray cluster for a whole test run, shared by its test workers and stopped after the last.

``python -m tests.harness.ray_cluster STATE_DIR`` starts Ray (2 CPUs, on loopback, token authentication
with a token made for it), writes ``STATE_DIR/cluster.json`` (its address and token) and then waits; it
stops Ray (``ray.shutdown()``) once no process listed in ``STATE_DIR/users`` is alive any more. A test
worker joins with :func:`join` and leaves with :func:`leave`, both under ``STATE_DIR/lock``: under
``pytest -n 2`` both workers use the cluster the first one started, and the run starts Ray once.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

START_TIMEOUT_S = 120
# Set before Ray is imported anywhere: a single-machine instance on loopback, with token authentication.
ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token"}


def join(state: Path) -> dict[str, str]:
    """The cluster's address and the environment a client needs (started here if none runs); registers us."""
    state.mkdir(parents=True, exist_ok=True)
    info = state / "cluster.json"
    with FileLock(str(state / "lock")):
        if not info.exists():
            _start(state)
        with (state / "users").open("a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        return dict(json.loads(info.read_text(encoding="utf-8")))


def leave(state: Path) -> None:
    with FileLock(str(state / "lock")):
        users = _users(state)
        users.remove(os.getpid())
        (state / "users").write_text("".join(f"{pid}\n" for pid in users), encoding="utf-8")


def _start(state: Path) -> None:
    token = secrets.token_hex(32)
    repo = Path(__file__).resolve().parents[2]
    path = os.pathsep.join(p for p in (str(repo), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, **ENV, "RAY_AUTH_TOKEN": token, "PYTHONPATH": path}
    log = (state / "cluster.log").open("ab")
    subprocess.Popen([sys.executable, "-m", "tests.harness.ray_cluster", str(state)], env=env, cwd=repo,
                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while not (state / "cluster.json").exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Ray cluster did not start: see {state / 'cluster.log'}")
        time.sleep(0.1)


def _users(state: Path) -> list[int]:
    path = state / "users"
    return [int(x) for x in path.read_text(encoding="utf-8").split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _serve(state: Path) -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    address = str(ray.get_runtime_context().gcs_address)
    assert address.startswith("127.0.0.1:"), address
    info = {"address": address, **ENV, "RAY_AUTH_TOKEN": os.environ["RAY_AUTH_TOKEN"]}
    (state / "cluster.tmp").write_text(json.dumps(info), encoding="utf-8")
    (state / "cluster.tmp").rename(state / "cluster.json")
    while True:
        time.sleep(1)
        with FileLock(str(state / "lock")):
            if not any(_alive(pid) for pid in _users(state)):
                (state / "cluster.json").unlink()
                break
    ray.shutdown()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
