"""A stand-in upstream for the proxy tests: answers with the headers it was given.

It reads the whole body and answers its length and SHA-256, so a test can tell
that an upload arrived whole; ``?answer_bytes=N`` answers N bytes instead, an
answer too large for the proxy's memory buffers.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    answer_bytes = int(parse_qs(environ.get("QUERY_STRING", "")).get("answer_bytes", ["0"])[0])
    if answer_bytes:
        payload = b"a" * answer_bytes
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(payload)))])
        return [payload]
    seen = {
        "proto": environ.get("HTTP_X_FORWARDED_PROTO"),
        "real_ip": environ.get("HTTP_X_REAL_IP"),
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
        "request_id": environ.get("HTTP_X_REQUEST_ID"),
        "body_bytes": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    payload = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(payload)))])
    return [payload]
