"""Shared test set-up: a headless plotting backend, and a Ray cluster of the test's own."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def ray_cluster():
    """A Ray cluster of the tests' own on this machine, stopped with every process it started.

    Its head is a driver that `ray.init()` starts and that waits on its stdin: closing stdin
    ends it, and Ray shuts down the processes of the cluster it started. Ray 2.60 turns token
    authentication on for a local cluster; the head and the sweep share a fresh token through
    the environment, so nothing is written under ~/.ray and no other cluster is joined.
    """
    pytest.importorskip("ray")
    script = (
        "import sys, ray\n"
        "info = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)\n"
        "print(info.address_info['gcs_address'], flush=True)\n"
        "sys.stdin.read()\n"
    )
    env = dict(
        os.environ,
        RAY_USAGE_STATS_ENABLED="0",
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN=secrets.token_hex(32),
    )
    head = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    address = head.stdout.readline().strip()
    assert address, "the Ray head did not start"
    try:
        yield address, env
    finally:
        head.stdin.close()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
