"""Every email the CRM sends goes through the outbox (crm.outbox): no module outside it opens a
mail connection or sends a message itself, so nothing new can bypass storing, retries and the
state the user sees. The campaign sender has its own claimed, retried rows and its own sink."""

import ast
from pathlib import Path

from django.conf import settings

ALLOWED = {
    "crm/outbox.py",  # the outbox itself
    "marketing/sending.py",  # the bulk campaign sender (Delivery rows are its outbox)
    "marketing/smtp_sink.py",  # the local SMTP server of tests and benchmarks
}
FORBIDDEN_IMPORTS = {"smtplib", "django.core.mail.backends", "django.core.mail.backends.smtp"}
FORBIDDEN_NAMES = {"send_mail", "send_mass_mail", "mail_admins", "mail_managers", "get_connection"}
APPS = ["crm", "contacts", "sales", "marketing", "service", "appointments", "analytics"]


def project_modules():
    base = Path(settings.BASE_DIR)
    for app in APPS:
        for path in sorted((base / app).rglob("*.py")):
            relative = path.relative_to(base).as_posix()
            if "/tests/" in relative or "/migrations/" in relative or relative in ALLOWED:
                continue
            yield relative, ast.parse(path.read_text(), filename=relative)


def direct_sending(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name in FORBIDDEN_IMPORTS]
        elif isinstance(node, ast.ImportFrom):
            if node.module in FORBIDDEN_IMPORTS:
                found.append(f"from {node.module} import ...")
            elif node.module and node.module.startswith("django.core.mail"):
                found += [f"from {node.module} import {a.name}" for a in node.names if a.name in FORBIDDEN_NAMES]
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES | {"send_messages"}:
            found.append(f".{node.attr} (line {node.lineno})")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "send":
            # message.send() / message.send(fail_silently=...): a Django email; signals pass sender=.
            keywords = {k.arg for k in node.keywords}
            if not node.args and keywords <= {"fail_silently"}:
                found.append(f".send() (line {node.lineno})")
    return found


def test_no_module_outside_the_outbox_sends_mail_itself():
    offenders = {name: hits for name, tree in project_modules() if (hits := direct_sending(tree))}
    assert offenders == {}, "Send through crm.outbox.email_queue instead: " + repr(offenders)


def test_the_guard_sees_each_way_of_sending():
    samples = [
        "from django.core.mail import send_mail\nsend_mail('s', 'b', None, ['a@b.de'])",
        "from django.core import mail\nmail.send_mail('s', 'b', None, ['a@b.de'])",
        "from django.core.mail import EmailMessage\nEmailMessage('s', 'b', to=['a@b.de']).send()",
        "message.send(fail_silently=False)",
        "from django.core.mail import get_connection\nget_connection().send_messages([m])",
        "import smtplib\nsmtplib.SMTP('h').sendmail('a', ['b'], 'x')",
        "from django.core import mail\nmail.get_connection()",
    ]
    assert all(direct_sending(ast.parse(code)) for code in samples)
    harmless = ["post_save.send(sender=Deal, instance=deal)", "sock.send(b'data')", "app.send_task('x')"]
    assert not any(direct_sending(ast.parse(code)) for code in harmless)
