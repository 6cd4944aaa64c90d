"""A small SMTP server on 127.0.0.1 that fails on cue, for the single path's tests.

    server = SMTPStandIn().start()
    server.plan[2] = ("mail", 421, "Too busy, closing", True)

Speaks just enough SMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT). `plan` maps the n-th MAIL command (counted from 1 across connections) to
the reply one of its stages gets instead of success, and whether the server
then hangs up, as a server does with a 421. Accepted messages land in
`received` as (recipients, raw data).
"""

import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self.server_state: SMTPStandIn = self.server.standin
        with self.server_state.lock:
            self.server_state.connections += 1
        self.reply("220 standin.example ESMTP")
        self.number = 0
        self.recipients: list[str] = []
        verbs = {
            "EHLO": self.hello,
            "HELO": self.hello,
            "MAIL": self.mail,
            "RCPT": self.rcpt,
            "DATA": self.data,
            "RSET": self.ok,
            "NOOP": self.ok,
            "QUIT": self.quit,
        }
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip()
            answer = verbs.get(command[:4].upper(), self.unknown)
            if not answer(command):
                return

    # Each verb's answer; False to hang up.

    def hello(self, command: str) -> bool:
        self.reply("250 standin.example")
        return True

    def ok(self, command: str) -> bool:
        self.reply("250 OK")
        return True

    def unknown(self, command: str) -> bool:
        self.reply("502 Command not implemented")
        return True

    def quit(self, command: str) -> bool:
        self.reply("221 Bye")
        return False

    def mail(self, command: str) -> bool:
        server = self.server_state
        with server.lock:
            server.mails += 1
            self.number = server.mails
        self.recipients = []
        return not (
            self.refuse(server, self.number, "mail") and server.closed(self.number)
        )

    def rcpt(self, command: str) -> bool:
        server = self.server_state
        address = command.split(":", 1)[1].strip().strip("<>")
        if not self.refuse(server, self.number, "rcpt", ok=False):
            self.recipients.append(address)
            self.reply("250 OK")
            return True
        return not server.closed(self.number)

    def data(self, command: str) -> bool:
        server = self.server_state
        self.reply("354 End data with <CR><LF>.<CR><LF>")
        data = b""
        while not data.endswith(b"\r\n.\r\n"):
            chunk = self.rfile.readline()
            if not chunk:
                return False
            data += chunk
        if not self.refuse(server, self.number, "data", ok=False):
            with server.lock:
                server.received.append((self.recipients, data))
            self.reply("250 OK queued")
            return True
        return not server.closed(self.number)

    def refuse(self, server, number: int, stage: str, *, ok: bool = True) -> bool:
        """Answer a stage as planned; True if it was refused."""
        planned = server.plan.get(number)
        if planned is None or planned[0] != stage:
            if ok:
                self.reply("250 OK")
            return False
        _, code, text, _ = planned
        self.reply(f"{code} {text}")
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SMTPStandIn:
    """The server's state: its plan of failures and what it accepted."""

    def __init__(self):
        self.plan: dict[int, tuple[str, int, str, bool]] = {}
        self.received: list[tuple[list[str], bytes]] = []
        self.connections = 0
        self.mails = 0
        self.lock = threading.Lock()
        self._server: _Server | None = None

    def closed(self, number: int) -> bool:
        planned = self.plan.get(number)
        return bool(planned and planned[3])

    def start(self) -> "SMTPStandIn":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def recipients(self) -> list[str]:
        return [address for addresses, _ in self.received for address in addresses]
