"""`make run` (scripts/run_dev.sh): Ctrl-C stops the web server, the worker and its beat within 10 s.

Ctrl-C in a terminal sends SIGINT to the foreground process group; the test starts the script in a
session of its own and does the same, while the worker is busy: the test holds an exclusive lock
on the SQLite database, so the task the worker queues at its start (resume stalled imports) waits
for it (20 s, the busy timeout).
Celery's warm shutdown used to wait for such tasks (90 s and more after `seed_demo`, when beat sent
hundreds of mails), ignoring the script's SIGTERM."""

import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings

START_SECONDS = 90
STOP_SECONDS = 10
WAIT_BOUND = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has not reaped it yet


@pytest.mark.real_clock  # the programs it starts run on the machine's clock
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
def test_ctrl_c_stops_server_worker_and_beat_within_ten_seconds(tmp_path):
    base_dir = Path(settings.BASE_DIR)
    address = f"127.0.0.1:{_free_port()}"
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    database = sqlite3.connect(var_dir / "crm.sqlite3", isolation_level=None)
    database.execute("BEGIN EXCLUSIVE")  # held until the end of the test
    env = {
        **os.environ, "ADDRESS": address, "CRM_VAR_DIR": str(var_dir), "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "crm.settings", "CELERY_BROKER_URL": "filesystem://", "DATABASE_URL": "",
    }
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        script = subprocess.Popen(  # noqa: S603 (fixed arguments)
            ["bash", str(base_dir / "scripts" / "run_dev.sh")], cwd=base_dir, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    processes: set[int] = set()
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            text = log_path.read_text()
            if "ready." in text and " received" in text:  # a task waits for the database
                break
            assert script.poll() is None, f"run_dev.sh ended (exit {script.returncode}):\n{text[-3000:]}"
            time.sleep(0.25)
        else:
            pytest.fail(f"not up within {START_SECONDS} s:\n{log_path.read_text()[-3000:]}")
        processes = _descendants(script.pid) | {script.pid}
        assert len(processes) >= 5, processes  # script, worker (+ pool, beat), runserver

        started = time.monotonic()
        os.killpg(script.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        while time.monotonic() < started + WAIT_BOUND:
            script.poll()  # reap the script
            if not any(_alive(pid) for pid in processes):
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        left = sorted(pid for pid in processes if _alive(pid))
        assert not left and elapsed < STOP_SECONDS, (
            f"after {elapsed:.1f} s still running: {left}\n{log_path.read_text()[-3000:]}"
        )
    finally:
        for pid in processes | _descendants(script.pid):
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        script.wait(timeout=10)
        database.close()
