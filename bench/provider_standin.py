"""A local stand-in for the Mailgun and Postmark send APIs, on 127.0.0.1.

    .venv/bin/python bench/provider_standin.py --port 8025

Answers the two endpoints anymail's backends call, as the providers document
them: Mailgun's `POST /v3/<domain>/messages` (a form with one `to` per
recipient, answering one message id for the batch) and Postmark's
`POST /email` (JSON, one message, its own MessageID). It counts every
recipient it accepts, so a benchmark or a test can check that nobody got two
copies: `GET /stats` returns the counts. An asyncio server with keep-alive, so
it costs the machine little next to the workers it serves.

Tests run it in a thread (`StandIn.start()`); a test may ask it to kill a
process with SIGKILL when the n-th request arrives, after accepting the
request and before answering, which is the worst moment for a sender to die,
or script its answers (`answers`, `always`) to fail the way providers fail: a
401, a 400, a success it words in a way the sender cannot read.
"""

import argparse
import asyncio
import json
import os
import signal
import threading
import uuid
from collections import Counter
from urllib.parse import parse_qsl

MAILGUN_OK = b'{"id": "<%s@standin.example>", "message": "Queued. Thank you."}'


class StandIn:
    """The server's state: what it accepted, and an optional kill switch."""

    def __init__(self, *, keep_recipients: bool = True, delay: float = 0.0):
        self.keep_recipients = keep_recipients
        self.delay = delay
        self.requests = 0
        self.accepted = 0
        self.recipients: Counter = Counter()
        self.kill_pid: int | None = None
        self.kill_on_request: int | None = None
        # Scripted answers to send requests, as (status, body, accepted):
        # `answers` for the next requests in turn, then `always` if set.
        # `accepted` counts the recipients as taken (a success it words
        # oddly); otherwise the request is refused and nobody is counted.
        self.answers: list[tuple[int, bytes, bool]] = []
        self.always: tuple[int, bytes, bool] | None = None
        # The recipients of each send request, in order.
        self.calls: list[list[str]] = []
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    # -- HTTP ----------------------------------------------------------------

    async def handle(self, reader, writer) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                status, payload = self.route(method, path, headers, body)
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(
                    b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (status, len(payload), payload)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def route(self, method: str, path: str, headers: dict, body: bytes):
        if method == "GET" and path == "/stats":
            return 200, json.dumps(self.stats()).encode()
        if method == "POST" and path == "/reset":
            self.reset()
            return 200, b"{}"
        if method != "POST":
            return 404, b'{"message": "Not found"}'
        self.requests += 1
        if path.endswith("/messages"):
            recipients = [
                value
                for name, value in parse_qsl(body.decode(), keep_blank_values=True)
                if name == "to"
            ]
            answer = MAILGUN_OK % uuid.uuid4().hex.encode()
        elif path.rstrip("/") == "/email":
            recipients = [json.loads(body)["To"]]
            answer = json.dumps(
                {
                    "To": recipients[0],
                    "SubmittedAt": "2026-01-01T00:00:00Z",
                    "MessageID": str(uuid.uuid4()),
                    "ErrorCode": 0,
                    "Message": "OK",
                }
            ).encode()
        else:
            return 404, b'{"message": "Not found"}'
        self.calls.append(recipients)
        scripted = self.answers.pop(0) if self.answers else self.always
        if scripted is not None:
            status, answer, accepted = scripted
            if not accepted:
                return status, answer
        self.accepted += len(recipients)
        if self.keep_recipients:
            self.recipients.update(address.lower() for address in recipients)
        if self.kill_on_request is not None and self.requests == self.kill_on_request:
            # Accepted but never answered: the sender dies not knowing.
            os.kill(self.kill_pid, signal.SIGKILL)
        return (status if scripted is not None else 200), answer

    def stats(self) -> dict:
        return {
            "requests": self.requests,
            "accepted": self.accepted,
            "distinct": len(self.recipients),
            "duplicates": sum(1 for count in self.recipients.values() if count > 1),
        }

    def reset(self) -> None:
        self.requests = 0
        self.accepted = 0
        self.recipients.clear()
        self.calls.clear()
        self.answers.clear()
        self.always = None

    # -- Running -------------------------------------------------------------

    async def serve(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(
            self.handle, "127.0.0.1", port, limit=64 * 1024 * 1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def start(self) -> "StandIn":
        """Serve from a background thread on a free port (for tests)."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _shutdown(self) -> None:
        # Keep-alive connections still wait in handle(): end them here, not
        # when the garbage collector finds their coroutines unfinished.
        self._server.close()
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument(
        "--no-recipients",
        action="store_true",
        help="count recipients without remembering them",
    )
    args = parser.parse_args()
    standin = StandIn(keep_recipients=not args.no_recipients)

    async def run() -> None:
        await standin.serve(args.port)
        print(f"Listening on {standin.url}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
