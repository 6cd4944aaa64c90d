"""A local stand-in for the parts of Stripe's API the site uses.

The real `stripe` client talks to it over HTTP on 127.0.0.1 (STRIPE_API_BASE), so
tests see each request as Stripe would receive it: path, headers (the API key, the
Idempotency-Key), and the form-encoded parameters. It keeps Checkout Sessions,
PaymentIntents, refunds, customers, invoice items and invoices in memory,
answers a repeated Idempotency-Key with the first response as Stripe does (and
refuses it with other parameters, as Stripe does), and signs webhook events with
Stripe's scheme.
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
    customers: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    invoice_items: dict[str, dict] = field(default_factory=dict)
    # Idempotency-Key: the first request's parameters and Stripe's answer to it.
    idempotent: dict[str, tuple[dict, int, dict]] = field(default_factory=dict)
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

    def pay_invoice(
        self, invoice_id: str, *, paid_at: int, out_of_band: bool = False
    ) -> None:
        """The customer pays (card, ACH, a transfer), or staff mark it paid there."""
        invoice = self.invoices[invoice_id]
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            paid=True,
            paid_out_of_band=out_of_band,
        )
        invoice["status_transitions"]["paid_at"] = paid_at

    def invoice_event(
        self, event_type: str, invoice_id: str, *, event_id: str = ""
    ) -> dict:
        return {
            "id": event_id or f"evt_test_{next(self.ids)}",
            "object": "event",
            "type": event_type,
            "api_version": "2026-01-01",
            "created": int(time.time()),
            "data": {"object": dict(self.invoices[invoice_id])},
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
        if parts[:2] == ["v1", "customers"] and method == "POST" and len(parts) == 2:
            return self.create_customer(params)
        if parts[:2] == ["v1", "invoiceitems"] and method == "POST":
            return self.create_invoice_item(params)
        if parts[:2] == ["v1", "invoices"]:
            return self.invoice_request(method, parts[2:], params)
        return error(404, f"Unrecognized request URL ({method} {path})")

    def create_customer(self, params: dict) -> tuple[int, dict]:
        customer_id = f"cus_test_{next(self.ids)}"
        self.customers[customer_id] = {
            "id": customer_id,
            "object": "customer",
            "name": params.get("name"),
            "email": params.get("email"),
        }
        return 200, self.customers[customer_id]

    def create_invoice_item(self, params: dict) -> tuple[int, dict]:
        invoice = self.invoices.get(params.get("invoice", ""))
        if invoice is None or params.get("customer") != invoice["customer"]:
            return error(400, "No such invoice for this customer")
        if invoice["status"] != "draft":
            return error(400, "Items can be added to draft invoices only.")
        item_id = f"ii_test_{next(self.ids)}"
        quantity = int(params.get("quantity") or 1)
        amount = round(float(params["unit_amount_decimal"]) * quantity)
        self.invoice_items[item_id] = {
            "id": item_id,
            "object": "invoiceitem",
            "invoice": invoice["id"],
            "quantity": quantity,
            "amount": amount,
            "description": params.get("description"),
        }
        invoice["amount_due"] += amount
        invoice["total"] += amount
        return 200, self.invoice_items[item_id]

    def invoice_request(
        self, method: str, rest: list[str], params: dict
    ) -> tuple[int, dict]:
        if method == "POST" and not rest:
            if params.get("customer") not in self.customers:
                return error(400, "No such customer")
            invoice_id = f"in_test_{next(self.ids)}"
            self.invoices[invoice_id] = {
                "id": invoice_id,
                "object": "invoice",
                "customer": params["customer"],
                "collection_method": params.get("collection_method"),
                "days_until_due": int(params.get("days_until_due") or 0),
                "status": "draft",
                "number": None,
                "hosted_invoice_url": None,
                "amount_due": 0,
                "amount_paid": 0,
                "total": 0,
                "paid_out_of_band": False,
                "due_date": None,
                "status_transitions": {"finalized_at": None, "paid_at": None},
                "metadata": {
                    "invoice_request": params.get("metadata[invoice_request]")
                },
            }
            return 200, self.invoices[invoice_id]
        invoice = self.invoices.get(rest[0]) if rest else None
        if invoice is None:
            return error(404, "No such invoice")
        action = rest[1:]
        if method == "GET" and not action:
            return 200, invoice
        if method == "POST" and action == ["finalize"]:
            if invoice["status"] != "draft":
                return error(400, "This invoice is already finalized.")
            now = int(time.time())
            invoice.update(
                status="open",
                number=f"TEST-{len(self.invoices):04d}",
                hosted_invoice_url=f"https://invoice.stripe.test/i/{invoice['id']}",
                due_date=now + invoice["days_until_due"] * 86400,
            )
            invoice["status_transitions"]["finalized_at"] = now
            return 200, invoice
        if method == "POST" and action == ["send"]:
            if invoice["status"] != "open":
                return error(400, "Only open invoices can be sent.")
            return 200, invoice
        if method == "POST" and action == ["pay"]:
            if invoice["status"] != "open":
                return error(400, "Invoice is already paid or void.")
            self.pay_invoice(
                invoice["id"],
                paid_at=int(time.time()),
                out_of_band=params.get("paid_out_of_band") == "true",
            )
            return 200, invoice
        return error(404, f"Unrecognized invoice request ({method} {rest})")

    def create_session(self, params: dict) -> tuple[int, dict]:
        session_id = f"cs_test_{next(self.ids)}"
        lines = itertools.takewhile(
            lambda n: f"line_items[{n}][quantity]" in params, itertools.count()
        )
        amount_total = sum(
            int(params[f"line_items[{n}][quantity]"])
            * int(params[f"line_items[{n}][price_data][unit_amount]"])
            for n in lines
        )
        self.sessions[session_id] = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "mode": "payment",
            "amount_total": amount_total,
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


def error(
    status: int, message: str, *, kind: str = "invalid_request_error"
) -> tuple[int, dict]:
    return status, {"error": {"type": kind, "message": message}}


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
                    first, status, payload = standin.idempotent[key]
                    if first != params:
                        status, payload = error(
                            400,
                            "Keys for idempotent requests can only be used with "
                            "the same parameters they were first used with.",
                            kind="idempotency_error",
                        )
                else:
                    status, payload = standin.handle(self.command, url.path, params)
                    if key:
                        standin.idempotent[key] = (params, status, payload)
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
