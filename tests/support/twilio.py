"""A Twilio-compatible server on loopback: the Messages API's create call and its callbacks.

Speaks what Twilio speaks, so the product's code runs unchanged through the
official ``twilio`` client (``TWILIO_API_URL`` points its base URL here):

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, HTTP basic auth
  with the account SID and auth token, a form of ``To``, ``From`` or
  ``MessagingServiceSid``, ``Body`` and ``StatusCallback``; answered ``201``
  with the message resource's JSON (``sid`` ``SM…``, ``status`` ``queued``…),
  or Twilio's error JSON (``code``, ``message``, ``more_info``, ``status``):
  ``20003`` (401) for wrong credentials, ``21211``/``21614``/``21610`` (400)
  for a number ``refuse``d, ``20429`` (429) while ``throttle``d;
- status callbacks (``deliver``): a form ``POST`` to the message's
  ``StatusCallback`` with ``MessageSid``, ``MessageStatus``, ``ErrorCode``…,
  signed ``X-Twilio-Signature`` with the auth token (the library's own
  ``RequestValidator.compute_signature``), as Twilio signs them;
- inbound messages (``reply``): the form Twilio posts to a number's
  messaging webhook (``From``, ``To``, ``Body``…), signed alike.

``forge`` posts the same forms unsigned, signed with another token, or with
a parameter changed after signing: what an attacker could send.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from twilio.request_validator import RequestValidator

from tests.support.net import free_port

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "twilio-test-token-" + "9" * 14
FROM_NUMBER = "+447700900999"

ERRORS = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    20429: "Too Many Requests",
    20003: "Authenticate",
}


@dataclass
class SentMessage:
    sid: str
    to: str
    body: str
    sender: str
    status_callback: str
    status: str = "queued"


@dataclass
class TwilioServer:
    """The server, its messages, and the answers a test asks of it."""

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[SentMessage] = field(default_factory=list)
    # Numbers refused with a Twilio error code (21211, 21614, 21610).
    refused: dict[str, int] = field(default_factory=dict)
    # The next N create calls are answered 429 (code 20429).
    throttled: int = 0
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> TwilioServer:
        self.port = self.port or free_port()
        server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> TwilioServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # What a test asks --------------------------------------------------------------

    def refuse(self, number: str, code: int) -> None:
        self.refused[number] = code

    def throttle(self, times: int) -> None:
        with self._lock:
            self.throttled = times

    def sent(self, to: str | None = None) -> list[SentMessage]:
        with self._lock:
            return [message for message in self.messages if to is None or message.to == to]

    # Callbacks, as Twilio makes them --------------------------------------------------

    def deliver(self, message: SentMessage, status: str, *, error_code: str = "") -> int:
        """Twilio's status callback for ``message`` (delivered, failed, undelivered…)."""
        message.status = status
        params = self._status_params(message, status, error_code)
        return post_form(message.status_callback, params,
                         signature=self.signature(message.status_callback, params))

    def reply(self, url: str, *, sender: str, body: str, to: str = FROM_NUMBER) -> int:
        """A patient's reply, as Twilio posts it to the number's messaging webhook."""
        params = self.inbound_params(sender=sender, body=body, to=to)
        return post_form(url, params, signature=self.signature(url, params))

    def signature(self, url: str, params: dict[str, str]) -> str:
        return RequestValidator(self.auth_token).compute_signature(url, params)

    def _status_params(self, message: SentMessage, status: str,
                       error_code: str) -> dict[str, str]:
        params = {"MessageSid": message.sid, "SmsSid": message.sid, "SmsStatus": status,
                  "MessageStatus": status, "AccountSid": self.account_sid,
                  "From": message.sender, "To": message.to, "ApiVersion": "2010-04-01"}
        if error_code:
            params["ErrorCode"] = error_code
        return params

    def inbound_params(self, *, sender: str, body: str, to: str = FROM_NUMBER) -> dict[str, str]:
        sid = "SM" + secrets.token_hex(16)
        return {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
                "AccountSid": self.account_sid, "From": sender, "To": to, "Body": body,
                "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
                "ApiVersion": "2010-04-01"}

    # The API ----------------------------------------------------------------------

    def _create(self, form: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.requests += 1
            if self.throttled > 0:
                self.throttled -= 1
                return 429, _error(20429, 429)
        to = form.get("To", "")
        if to in self.refused:
            return 400, _error(self.refused[to], 400)
        if not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
            return 400, _error(21602 if not form.get("Body") else 21603, 400,
                               "Message body is required." if not form.get("Body")
                               else "A 'From' phone number is required.")
        message = SentMessage(sid="SM" + secrets.token_hex(16), to=to, body=form["Body"],
                              sender=form.get("From") or form.get("MessagingServiceSid", ""),
                              status_callback=form.get("StatusCallback", ""))
        with self._lock:
            self.messages.append(message)
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}"
        return 201, {
            "account_sid": self.account_sid, "api_version": "2010-04-01",
            "body": message.body, "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0", "num_segments": "1", "price": None, "price_unit": "USD",
            "sid": message.sid, "status": "queued", "to": to, "uri": uri + ".json",
            "subresource_uris": {"media": uri + "/Media.json"},
        }

    def _authorised(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return secrets.compare_digest(header, f"Basic {expected}")


def _error(code: int, status: int, message: str = "") -> dict:
    return {"code": code, "message": message or ERRORS.get(code, "error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


def _handler(server: TwilioServer) -> type[BaseHTTPRequestHandler]:
    path = f"/2010-04-01/Accounts/{server.account_sid}/Messages.json"

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if not server._authorised(self.headers.get("Authorization", "")):
                self._answer(401, _error(20003, 401))
            elif self.path.split("?")[0] != path:
                self._answer(404, _error(20404, 404, "The requested resource was not found"))
            else:
                self._answer(*server._create(form))

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass

    return Handler


def post_form(url: str, params: dict[str, str], *, signature: str | None) -> int:
    """POST a form as Twilio does; the answer's status code."""
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "User-Agent": "TwilioProxy/1.1"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def forgeries(server: TwilioServer, url: str, params: dict[str, str]) -> dict[str, int]:
    """Every way to forge a callback to ``url``; the status code each got."""
    good = server.signature(url, params)
    other = RequestValidator("not-the-auth-token").compute_signature(url, params)
    if "MessageStatus" in params:
        flipped = "failed" if params["MessageStatus"] == "delivered" else "delivered"
        tampered = {**params, "MessageStatus": flipped}
    else:
        tampered = {**params, "Body": "START" if params.get("Body") != "START" else "STOP"}
    return {
        "unsigned": post_form(url, params, signature=None),
        "empty signature": post_form(url, params, signature=""),
        "signed with another token": post_form(url, params, signature=other),
        "a parameter changed after signing": post_form(url, tampered, signature=good),
        "signed for another URL": post_form(
            url, params, signature=server.signature(url.replace("/sms/", "/other/"), params)),
        "garbage signature": post_form(url, params, signature="x" * 28),
    }
