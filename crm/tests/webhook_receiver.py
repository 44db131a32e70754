"""A real HTTP receiver on 127.0.0.1 for webhook tests: it verifies every request with the
`standardwebhooks` library and records what arrived. `answer` decides the status code."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a sender killed mid-request (the worker test does that on purpose)


class Receiver:
    def __init__(self, secret: str = "", port: int = 0):
        self.secret = secret
        self.received: list[dict] = []  # verified: {"id", "type", "data", "headers"}
        self.rejected: list[str] = []
        self.answer = lambda body: 200
        self.lock = threading.Lock()
        self.port = port
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key: value for key, value in self.headers.items()}
                status = receiver.answer(body)
                if status == 200:
                    try:
                        payload = Webhook(receiver.secret).verify(body, headers)
                    except Exception as error:  # noqa: BLE001
                        with receiver.lock:
                            receiver.rejected.append(str(error))
                        status = 400
                    else:
                        with receiver.lock:
                            receiver.received.append(
                                {"id": headers["webhook-id"], "type": payload["type"], "data": payload["data"],
                                 "headers": headers}
                            )
                reply = b'{"ok": true}' if status == 200 else b"nope"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = _Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
