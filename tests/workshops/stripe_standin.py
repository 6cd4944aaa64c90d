"""A local stand-in for the parts of Stripe's API the site uses.

The real `stripe` client talks to it over HTTP on 127.0.0.1 (STRIPE_API_BASE), so
tests see each request as Stripe would receive it: path, headers (the API key, the
Idempotency-Key), and the form-encoded parameters. It keeps Checkout Sessions,
PaymentIntents and refunds in memory, answers a repeated Idempotency-Key with the
first response as Stripe does, and signs webhook events with Stripe's scheme.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]


@dataclass
class StripeStandIn:
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    intents: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    idempotent: dict[str, tuple[int, dict]] = field(default_factory=dict)
    fail_next: int = 0  # answer this many requests with a 500
    # A slow Stripe for refunds: while set, a refund request waits for the gate
    # to open, after setting refund_arrived.
    refund_gate: threading.Event | None = None
    refund_arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # What tests look at -------------------------------------------------------

    def calls(self, method: str, path_prefix: str) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.method == method and r.path.startswith(path_prefix)
        ]

    def complete(self, session_id: str, *, intent_status: str = "succeeded") -> None:
        """The buyer pays: card (succeeded) or a bank debit (processing)."""
        session = self.sessions[session_id]
        intent_id = f"pi_test_{next(self.ids)}"
        self.intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "status": intent_status,
            "amount": session["amount_total"],
            "currency": "usd",
        }
        session.update(
            status="complete",
            payment_status="paid" if intent_status == "succeeded" else "unpaid",
            payment_intent=intent_id,
        )

    def settle(self, session_id: str, *, succeeded: bool) -> None:
        """A delayed payment (ACH) succeeds or fails days later."""
        session = self.sessions[session_id]
        intent = self.intents[session["payment_intent"]]
        intent["status"] = "succeeded" if succeeded else "requires_payment_method"
        session["payment_status"] = "paid" if succeeded else "unpaid"

    def expire(self, session_id: str) -> None:
        self.sessions[session_id]["status"] = "expired"

    def event(self, event_type: str, session_id: str, *, event_id: str = "") -> dict:
        return {
            "id": event_id or f"evt_test_{next(self.ids)}",
            "object": "event",
            "type": event_type,
            "api_version": "2026-01-01",
            "created": int(time.time()),
            "data": {"object": dict(self.sessions[session_id])},
        }

    @staticmethod
    def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
        """The Stripe-Signature header Stripe would send with `payload`."""
        timestamp = timestamp or int(time.time())
        signed = f"{timestamp}.".encode() + payload
        digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    # The API ------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"]:
            if method == "POST" and len(parts) == 3:
                return self.create_session(params)
            session = self.sessions.get(parts[3]) if len(parts) > 3 else None
            if session is None:
                return error(404, "No such checkout.session")
            if method == "GET" and len(parts) == 4:
                return 200, self.render_session(session, params)
            if method == "POST" and parts[4:] == ["expire"]:
                if session["status"] != "open":
                    return error(400, "Only open sessions can be expired.")
                session["status"] = "expired"
                return 200, self.render_session(session, {})
        if parts[:2] == ["v1", "refunds"] and method == "POST":
            if params.get("payment_intent") not in self.intents:
                return error(400, "No such payment_intent")
            refund_id = f"re_test_{next(self.ids)}"
            self.refunds[refund_id] = {
                "id": refund_id,
                "object": "refund",
                "amount": int(params["amount"]),
                "payment_intent": params["payment_intent"],
                "status": "succeeded",
            }
            return 200, self.refunds[refund_id]
        return error(404, f"Unrecognized request URL ({method} {path})")

    def create_session(self, params: dict) -> tuple[int, dict]:
        session_id = f"cs_test_{next(self.ids)}"
        quantity = int(params["line_items[0][quantity]"])
        unit = int(params["line_items[0][price_data][unit_amount]"])
        self.sessions[session_id] = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "mode": "payment",
            "amount_total": quantity * unit,
            "currency": "usd",
            "customer_email": params.get("customer_email"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": {"order": params.get("metadata[order]")},
            "expires_at": int(params["expires_at"]),
            "payment_intent": None,
        }
        return 200, self.sessions[session_id]

    def render_session(self, session: dict, params: dict) -> dict:
        rendered = dict(session)
        if params.get("expand[0]") == "payment_intent" and session["payment_intent"]:
            rendered["payment_intent"] = self.intents[session["payment_intent"]]
        return rendered


def error(status: int, message: str) -> tuple[int, dict]:
    return status, {"error": {"type": "invalid_request_error", "message": message}}


def start() -> tuple[StripeStandIn, ThreadingHTTPServer]:
    standin = StripeStandIn()

    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as Stripe's API allows: the client reuses its connection.
        protocol_version = "HTTP/1.1"
        # Headers and body go out as separate writes; with Nagle's algorithm on,
        # the body would wait for the client's delayed ACK on every response.
        disable_nagle_algorithm = True

        def log_message(self, *args):  # keep test output quiet
            pass

        def respond(self):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            params = dict(parse_qsl(body or url.query, keep_blank_values=True))
            headers = {key.lower(): value for key, value in self.headers.items()}
            gate = standin.refund_gate
            if gate is not None and url.path.startswith("/v1/refunds"):
                standin.refund_arrived.set()
                gate.wait(timeout=60)
            with standin.lock:
                standin.requests.append(
                    Request(self.command, url.path, headers, params)
                )
                key = headers.get("idempotency-key")
                if standin.fail_next:
                    standin.fail_next -= 1
                    status, payload = error(500, "Stand-in failure")
                elif key and key in standin.idempotent:
                    status, payload = standin.idempotent[key]
                else:
                    status, payload = standin.handle(self.command, url.path, params)
                    if key:
                        standin.idempotent[key] = (status, payload)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = respond

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return standin, server
