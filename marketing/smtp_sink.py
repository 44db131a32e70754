"""A local SMTP sink for tests and the send benchmark (aiosmtpd on 127.0.0.1 only).

Run as a process: `python -m marketing.smtp_sink --port 2525 --out sink.jsonl`; it writes one
JSON line per accepted message and recipient. Addresses starting with "bounce" are refused with
550 (a hard bounce). `--count-only` skips parsing for the throughput benchmark.
"""

import argparse
import email
import email.policy
import json
import signal
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


def describe(raw: bytes) -> dict:
    message = email.message_from_bytes(raw, policy=email.policy.SMTP)
    parts = [part.get_content_type() for part in message.walk()]
    return {
        "message_id": message.get("Message-ID", ""),
        "content_type": message.get_content_type(),
        "parts": parts,
        "list_unsubscribe": message.get("List-Unsubscribe", ""),
        "list_unsubscribe_post": message.get("List-Unsubscribe-Post", ""),
        "subject": str(message.get("Subject", "")),
    }


class RecordingHandler:
    def __init__(self, out=None, *, count_only: bool = False):
        self.out = out
        self.count_only = count_only
        self.count = 0
        self.lock = threading.Lock()
        self.messages: list[dict] = []

    async def handle_RCPT(self, server, session, envelope: Envelope, address: str, rcpt_options):  # noqa: N802 (aiosmtpd API)
        if address.lower().startswith("bounce"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope):  # noqa: N802 (aiosmtpd API)
        info = {} if self.count_only else describe(envelope.original_content or envelope.content)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.count += 1
                if self.out is not None:
                    self.out.write(json.dumps({"rcpt": rcpt, **info}) + "\n")
                else:
                    self.messages.append({"rcpt": rcpt, **info, "raw": envelope.original_content or envelope.content})
            if self.out is not None:
                self.out.flush()
        return "250 Message accepted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--count-only", action="store_true")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    with open(args.out, "a", buffering=1) as out:
        controller = Controller(RecordingHandler(out, count_only=args.count_only), hostname="127.0.0.1", port=args.port)
        controller.start()
        print(f"sink listening on 127.0.0.1:{args.port}", flush=True)
        stop.wait()
        controller.stop()


if __name__ == "__main__":
    main()
