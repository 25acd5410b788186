"""A two-raylet Ray cluster on this host, started the way a user starts one on two machines (`ray start`)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

RAY = str(Path(sys.executable).parent / "ray")


@dataclass(frozen=True)
class RayCluster:
    """A running cluster: its address, and the custom resource that names each raylet."""

    address: str
    node_resources: tuple[str, ...]
    temp_dir: Path


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # `--block` keeps `ray start` in the foreground; SIGTERM to it stops exactly the processes it started (no
    # `ray stop`, which would stop every Ray instance on the host, other people's included).
    with open(log, "wb") as out:
        return subprocess.Popen(
            [RAY, "start", *args, "--block"], stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for_nodes(address: str, n: int, procs: list[subprocess.Popen[bytes]], timeout: float = 90) -> None:
    import ray

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a `ray start` exited early; see its log in the cluster's temp dir")
        try:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            alive = sum(1 for node in ray.nodes() if node["Alive"])
        except (ConnectionError, RuntimeError):
            alive = 0
        finally:
            if ray.is_initialized():
                ray.shutdown()
        if alive >= n:
            return
        time.sleep(2)
    raise RuntimeError(f"the Ray cluster at {address} did not reach {n} nodes in {timeout:.0f} s")


@pytest.fixture(scope="module")
def ray_cluster(free_port: Callable[[], int]) -> Iterator[RayCluster]:
    """A Ray head and a second raylet on this host, each with its own CPUs, one logical GPU and a name resource.

    Both advertise a logical GPU: verl's resource pool places one worker per GPU per node, and the CPU platform
    (`videokr.plugins.verl_cpu`) asks Ray for `GPU`. Stopped (only these processes) after the module.
    """
    temp = Path(tempfile.mkdtemp(prefix="vkr-ray-", dir="/tmp"))  # short: Ray's unix sockets live under it
    port = free_port()
    address = f"127.0.0.1:{port}"
    # Ray 2.60's `ray start --head` turns token authentication on; this test cluster opts out (a token cluster
    # works the same once RAY_AUTH_MODE=token and the token are exported where videokr runs).
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--num-cpus", "8", "--num-gpus", "1", "--disable-usage-stats"]
    nodes = ("vkr_node_head", "vkr_node_worker")
    head = _start(
        [
            "--head",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--temp-dir",
            str(temp),
            "--include-dashboard=true",  # Ray's state API (where workers ran) is served by the dashboard
            "--dashboard-host",
            "127.0.0.1",
            "--dashboard-port",
            str(free_port()),
            "--ray-client-server-port",
            str(free_port()),
            "--dashboard-agent-listen-port",
            str(free_port()),
            "--metrics-export-port",
            str(free_port()),
            "--resources",
            json.dumps({nodes[0]: 1}),
            *common,
        ],
        temp / "head.log",
        env,
    )
    procs = [head]
    try:
        _wait_for_nodes(address, 1, procs)
        worker = _start(
            [
                "--address",
                address,
                "--node-ip-address",
                "127.0.0.1",
                "--dashboard-agent-listen-port",
                str(free_port()),
                "--metrics-export-port",
                str(free_port()),
                "--resources",
                json.dumps({nodes[1]: 1}),
                *common,
            ],
            temp / "worker.log",
            env,
        )
        procs.append(worker)
        _wait_for_nodes(address, 2, procs)
        yield RayCluster(address, nodes, temp)
    finally:
        import ray

        if ray.is_initialized():  # a driver left connected is killed by Ray once its cluster goes away
            ray.shutdown()
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(temp, ignore_errors=True)
