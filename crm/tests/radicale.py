"""A private Radicale CalDAV server for tests (PyPI `radicale`, requirements-dev.txt): its own
configuration, htpasswd users (plain) and filesystem storage in a temporary directory, on a
free port of 127.0.0.1.

    server = start(users={"alice": "geheim"})
    server.url                  # http://127.0.0.1:<port>/
    server.stop(); server.restart()   # the same port and storage, as after an outage

Without Radicale the test is skipped, or fails when REQUIRE_SERVICES=1 (CI).
"""

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from crm.tests.processes import free_port, require


class RadicaleFailed(RuntimeError):
    pass


def available() -> bool:
    return importlib.util.find_spec("radicale") is not None


def require_radicale() -> None:
    require(available(), "Radicale is missing (pip install -r requirements-dev.txt)")


@dataclass
class Radicale:
    directory: Path
    port: int
    users: dict[str, str]
    process: subprocess.Popen | None = field(default=None)

    host = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def calendar_url(self, user: str, name: str = "calendar") -> str:
        return f"{self.url}{user}/{name}/"

    def log(self) -> str:
        path = self.directory / "radicale.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _start(self) -> None:
        log = open(self.directory / "radicale.log", "ab")  # noqa: SIM115 (the process owns it)
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and config)
            [sys.executable, "-m", "radicale", "--config", str(self.directory / "config")],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.directory,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RadicaleFailed(f"Radicale exited with {self.process.returncode}:\n{self.log()}")
            try:
                urllib.request.urlopen(f"{self.url}.web/", timeout=1).close()  # noqa: S310 (127.0.0.1)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RadicaleFailed(f"Radicale did not answer on port {self.port}:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self._start()

    def make_calendar(self, user: str, name: str = "calendar") -> str:
        """A calendar collection of `user` (MKCALENDAR), its URL."""
        import caldav

        with caldav.DAVClient(url=self.url, username=user, password=self.users[user]) as client:
            client.principal().make_calendar(name=name, cal_id=name)
        return self.calendar_url(user, name)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start(*, users: dict[str, str]) -> Radicale:
    directory = Path(tempfile.mkdtemp(prefix="crm-radicale-"))
    (directory / "users").write_text("".join(f"{name}:{password}\n" for name, password in users.items()))
    (directory / "collections").mkdir()
    port = free_port()
    (directory / "config").write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = htpasswd\n"
        f"htpasswd_filename = {directory / 'users'}\n"
        "htpasswd_encryption = plain\n"
        "[storage]\n"
        f"filesystem_folder = {directory / 'collections'}\n"
        "[rights]\n"
        "type = owner_only\n"
        "[logging]\n"
        "level = warning\n"
    )
    server = Radicale(directory=directory, port=port, users=users)
    try:
        server._start()
    except RadicaleFailed:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return server
