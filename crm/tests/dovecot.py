"""A private Dovecot IMAP server for tests (Debian's `dovecot-imapd`; `.ci/run` installs it):
its own configuration, state and maildirs in a temporary directory, users from a passwd-file,
TLS with a self-signed certificate (crm/tests/certificates.py), on free ports of 127.0.0.1.

    server = start(tmp_dir, users={"anna@crm.test": "geheim"})
    server.append("anna@crm.test", "INBOX", raw_bytes)
    server.set_uidvalidity("anna@crm.test", "INBOX", 4711)  # as after a server migration
    server.stop()

Without Dovecot the test is skipped, or fails when REQUIRE_SERVICES=1 (CI). The mailbox sync
benchmark (contacts.benchmarks) starts one the same way.
"""

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from crm.tests.certificates import Certificate, self_signed
from crm.tests.processes import free_port, require

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"


class DovecotFailed(RuntimeError):
    pass


def available() -> bool:
    return os.path.exists(DOVECOT) and os.path.exists(DOVEADM)


def require_dovecot() -> None:
    """Only tests call this; the mailbox benchmark (contacts.benchmarks) checks available()."""
    require(available(), "Dovecot is missing (apt-get install dovecot-imapd)")


@dataclass
class Dovecot:
    directory: Path
    process: subprocess.Popen
    port: int  # implicit TLS
    starttls_port: int
    certificate: Certificate
    users: dict[str, str]

    host = "127.0.0.1"

    @property
    def config(self) -> Path:
        return self.directory / "dovecot.conf"

    def log(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, user: str) -> imaplib.IMAP4_SSL:
        import ssl

        context = ssl.create_default_context(cafile=str(self.certificate.cert))
        client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=30)
        credentials = f"\0{user}\0{self.users[user]}".encode()  # UTF-8 passwords: LOGIN is ASCII only
        client.authenticate("PLAIN", lambda challenge: credentials)
        return client

    def append(self, user: str, folder: str, *messages: bytes) -> None:
        client = self.client(user)
        try:
            for raw in messages:
                typ, data = client.append(f'"{folder}"', "(\\Seen)", None, raw)
                assert typ == "OK", data
        finally:
            client.logout()

    def create_folder(self, user: str, folder: str, special_use: str = "") -> None:
        client = self.client(user)
        try:
            typ, data = client.create(f'"{folder}"')
            assert typ == "OK", data
        finally:
            client.logout()

    def uids(self, user: str, folder: str) -> list[int]:
        client = self.client(user)
        try:
            client.select(f'"{folder}"')
            typ, data = client.uid("SEARCH", None, "ALL")
            return [int(u) for u in data[0].split()]
        finally:
            client.logout()

    def move(self, user: str, source: str, uids: list[int], target: str) -> None:
        client = self.client(user)
        try:
            client.select(f'"{source}"')
            typ, data = client.uid("MOVE", ",".join(map(str, uids)), f'"{target}"')
            assert typ == "OK", data
        finally:
            client.logout()

    def set_uidvalidity(self, user: str, folder: str, value: int) -> None:
        """A new UIDVALIDITY, as a server migration or a rebuilt index gives: every UID is void."""
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)

    def doveadm(self, *args: str) -> str:
        result = subprocess.run([DOVEADM, "-c", str(self.config), *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr + self.log()
        return result.stdout

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)


def start(*, users: dict[str, str], sent_folder: str = "Gesendet", special_use: bool = True) -> Dovecot:
    """`sent_folder` is flagged \\Sent (RFC 6154) unless `special_use` is False, as on servers
    that do not support SPECIAL-USE."""
    if not available():
        require_dovecot()
    # Short path (UNIX sockets live in base_dir) outside pytest's private tmp tree, which the
    # mail user could not enter.
    directory = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
    os.chmod(directory, 0o711)  # noqa: S103  (the mail user passes through, cannot list)
    certificate = self_signed(directory / "tls", "imap")
    mail = directory / "mail"
    mail.mkdir()
    if os.geteuid() == 0:  # Dovecot refuses mail access as root: its own system user keeps the mail
        mail_user = login_user = "dovecot"
        internal_user = "dovecot"
        if pwd.getpwnam("dovenull"):
            login_user = "dovenull"
        entry = pwd.getpwnam(mail_user)
        os.chown(mail, entry.pw_uid, entry.pw_gid)
    else:
        mail_user = login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
        entry = pwd.getpwuid(os.geteuid())
    (directory / "passwd").write_text("".join(f"{user}:{{PLAIN}}{password}\n" for user, password in users.items()))
    port, starttls_port = free_port(), free_port()
    flag = "special_use = \\Sent" if special_use else ""
    (directory / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
info_log_path = {directory}/dovecot.log
default_internal_user = {internal_user}
default_login_user = {login_user}
ssl = required
ssl_cert = <{certificate.cert}
ssl_key = <{certificate.key}
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
mail_uid = {entry.pw_uid}
mail_gid = {entry.pw_gid}
first_valid_uid = {entry.pw_uid}
first_valid_gid = {entry.pw_gid}
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = static
  args = uid={entry.pw_uid} gid={entry.pw_gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{sent_folder}" {{
    {flag}
    auto = subscribe
  }}
  mailbox Archiv {{
    auto = subscribe
  }}
}}
""")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(directory / "dovecot.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Dovecot(directory, process, port, starttls_port, certificate, users)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            server.stop()
            raise DovecotFailed(f"Dovecot did not start: {error}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise DovecotFailed("Dovecot did not listen within 20 s")
