"""The reverse proxy of docker-compose.yml (deploy/nginx/nginx.conf), checked and run here.

There is no Docker engine on the test machine, so Debian's nginx reads the
same file: ``nginx -t`` validates it, and the file runs on loopback in front
of a one-worker sync gunicorn (the worker class the compose file uses), with
only its paths, ports and upstream address replaced. Slow clients that dribble
their headers hold nginx connections, not the worker; bodies over the limit
are refused by the proxy; X-Forwarded-Proto and X-Real-IP are the proxy's.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "nginx" / "nginx.conf"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SLOW_CLIENTS = 8

needs_nginx = pytest.mark.skipif(not Path(NGINX).exists(),
                                 reason="Debian's nginx (apt-get install nginx)")


def self_signed(folder: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-keyout", str(folder / "privkey.pem"),
         "-out", str(folder / "fullchain.pem")],
        check=True, capture_output=True, timeout=60)


def loopback_config(folder: Path, *, http_port: int, https_port: int, upstream: int) -> Path:
    """The compose file's config with its paths, ports and upstream moved onto loopback."""
    text = CONFIG.read_text()
    for name in ("nginx-body", "nginx-proxy", "nginx-fastcgi", "nginx-uwsgi", "nginx-scgi"):
        text = text.replace(f"/tmp/{name}", str(folder / name))
    replacements = {
        "pid /tmp/nginx.pid;": f"pid {folder / 'nginx.pid'};",
        "/etc/nginx/certs/": f"{folder}/",
        "server web:8000;": f"server 127.0.0.1:{upstream};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
    }
    for old, new in replacements.items():
        assert old in text, f"nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    config = folder / "nginx.conf"
    config.write_text(text)
    return config


def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def upstream():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
         "--timeout", "30", "--bind", f"127.0.0.1:{port}", "tests.security.proxy_app:app"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def proxy(tmp_path, upstream):
    self_signed(tmp_path)
    ports = {"http_port": free_port(), "https_port": free_port()}
    config = loopback_config(tmp_path, upstream=upstream, **ports)
    # As root, nginx's workers would run as "nobody", who cannot enter pytest's
    # private temporary folder; they run as the test's user instead.
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    process = subprocess.Popen([NGINX, "-c", str(config), "-p", str(tmp_path), "-g",
                                directives], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_port(ports["https_port"])
        yield ports
    finally:
        process.terminate()
        process.wait(timeout=10)


def tls_socket(port: int, timeout: float = 5) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return context.wrap_socket(raw, server_hostname="localhost")


def request(port: int, head: str, body: bytes = b"", *, tls: bool = True,
            timeout: float = 5) -> tuple[int, bytes]:
    sock = tls_socket(port, timeout) if tls else socket.create_connection(
        ("127.0.0.1", port), timeout=timeout)
    with sock:
        sock.sendall(head.encode() + body)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                header, _, rest = data.partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in header.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(rest) >= length[0]:
                    break
    status = int(data.split(b" ", 2)[1]) if data else 0
    return status, data.partition(b"\r\n\r\n")[2]


def dribble(port: int, stop: threading.Event, *, tls: bool) -> None:
    """A slow client: one header line every 2 seconds, never the blank line."""
    try:
        sock = tls_socket(port, timeout=30) if tls else socket.create_connection(
            ("127.0.0.1", port), timeout=30)
        with sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            n = 0
            while not stop.wait(2):
                sock.sendall(f"X-Slow-{n}: a\r\n".encode())
                n += 1
    except OSError:
        pass


GET = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


@needs_nginx
def test_it_validates_the_proxy_config_with_nginx_t(tmp_path):
    self_signed(tmp_path)
    config = loopback_config(tmp_path, http_port=free_port(), https_port=free_port(),
                             upstream=free_port())

    result = subprocess.run([NGINX, "-t", "-c", str(config), "-p", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)

    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_it_puts_the_proxy_alone_on_the_host_in_the_compose_file():
    services = COMPOSE["services"]

    assert "ports" not in services["web"]  # gunicorn is reached through the proxy only
    assert services["web"]["environment"]["DJANGO_BEHIND_PROXY"] == "true"
    assert services["proxy"]["image"].startswith("nginx:")
    assert set(services["proxy"]["ports"]) == {"443:443", "80:80"}
    assert any(volume.startswith("./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf")
               for volume in services["proxy"]["volumes"])


def test_the_proxys_body_limit_covers_the_patient_links_limit():
    from django.conf import settings

    limit = next(line for line in CONFIG.read_text().splitlines()
                 if line.strip().startswith("client_max_body_size"))
    megabytes = int(limit.split()[1].rstrip(";").rstrip("m"))
    assert settings.PATIENT_LINK_MAX_BODY <= megabytes * 1024 * 1024 < 2 * settings.PHOTO_MAX_BYTES


@needs_nginx
def test_it_sets_x_forwarded_proto_and_the_address_itself(proxy):
    status, body = request(proxy["https_port"], (
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        "X-Forwarded-Proto: http\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"))

    seen = json.loads(body)
    assert status == 200
    assert seen["proto"] == "https"
    assert seen["real_ip"] == "127.0.0.1" and seen["forwarded_for"] == "127.0.0.1"


@needs_nginx
def test_it_redirects_plain_http_to_https(proxy):
    status, _ = request(proxy["http_port"], GET, tls=False)

    assert status == 301


@needs_nginx
def test_it_refuses_a_body_over_the_limit_before_gunicorn_sees_it(proxy):
    head = ("POST /c/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/ HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {200 * 1024 * 1024}\r\n"
            "Connection: close\r\n\r\n")

    status, _ = request(proxy["https_port"], head)

    assert status == 413


@needs_nginx
def test_it_keeps_answering_while_slow_clients_dribble_their_headers(proxy, upstream):
    stop = threading.Event()
    clients = [threading.Thread(target=dribble, args=(proxy["https_port"], stop),
                                kwargs={"tls": True}, daemon=True) for _ in range(SLOW_CLIENTS)]
    for client in clients:
        client.start()
    try:
        time.sleep(3)  # every slow client is in, a header or two sent
        started = time.monotonic()
        status, _ = request(proxy["https_port"], GET, timeout=5)
        elapsed = time.monotonic() - started
    finally:
        stop.set()

    assert status == 200
    assert elapsed < 2


def test_without_the_proxy_one_slow_client_holds_the_sync_worker(upstream):
    # Why the proxy is there: the same gunicorn, faced directly, is shut by one.
    stop = threading.Event()
    slow = threading.Thread(target=dribble, args=(upstream, stop), kwargs={"tls": False},
                            daemon=True)
    slow.start()
    try:
        time.sleep(1)
        status, _ = request(upstream, GET, tls=False, timeout=3)
    finally:
        stop.set()

    assert status == 0  # no answer within 3 seconds
