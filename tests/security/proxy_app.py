"""A stand-in upstream for the proxy tests: answers with the headers it was given."""

from __future__ import annotations

import json


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    seen = {
        "proto": environ.get("HTTP_X_FORWARDED_PROTO"),
        "real_ip": environ.get("HTTP_X_REAL_IP"),
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
        "body_bytes": len(body),
    }
    payload = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(payload)))])
    return [payload]
