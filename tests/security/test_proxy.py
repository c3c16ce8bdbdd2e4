"""The reverse proxy of docker-compose.yml (deploy/nginx/nginx.conf), checked and run here.

There is no Docker engine on the test machine, so Debian's nginx reads the
same file: ``nginx -t`` validates it, and the file runs on loopback in front
of a one-worker sync gunicorn (the worker class the compose file uses), with
only its paths, ports and upstream address replaced. Slow clients that dribble
their headers hold nginx connections, not the worker; bodies over the limit
are refused by the proxy; X-Forwarded-Proto and X-Real-IP are the proxy's.

A patient's link is a credential, so nginx may write it nowhere: its logs (the
config's stderr and stdout, files here) are searched for the link's token after
photos, bodies over the limit, aborted uploads and a failed upstream, and its
temporary folders are replaced by plain files once it has started, so that a
body or answer it tried to spool (a temporary file it would have unlinked
again, leaving no trace) fails the request instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
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
CURL = shutil.which("curl") or "/usr/bin/curl"
SLOW_CLIENTS = 8
TEMPORARY_FOLDERS = ("nginx-body", "nginx-proxy", "nginx-fastcgi", "nginx-uwsgi", "nginx-scgi")
# Where the config writes its logs, and the files they become here.
LOGS = {"/dev/stderr": "error.log", "/dev/stdout": "access.log"}
MB = 1024 * 1024

needs_nginx = pytest.mark.skipif(not Path(NGINX).exists(),
                                 reason="Debian's nginx (apt-get install nginx)")
needs_curl = pytest.mark.skipif(not Path(CURL).exists(), reason="curl (apt-get install curl)")


def self_signed(folder: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-keyout", str(folder / "privkey.pem"),
         "-out", str(folder / "fullchain.pem")],
        check=True, capture_output=True, timeout=60)


def loopback_config(folder: Path, *, http_port: int, https_port: int, upstream: int,
                    text: str | None = None) -> Path:
    """The compose file's config with its paths, ports and upstream moved onto loopback."""
    text = CONFIG.read_text() if text is None else text
    for name in TEMPORARY_FOLDERS:
        text = text.replace(f"/tmp/{name}", str(folder / name))
    for device, name in LOGS.items():
        text = text.replace(f" {device}", f" {folder / name}")
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


def trap_temporary_folders(folder: Path) -> None:
    """A plain file where each temporary folder was: nginx, root or not, can then
    create no temporary file (open() fails, "Not a directory"), so a body or an
    answer it tried to spool fails its request rather than passing unseen."""
    for name in TEMPORARY_FOLDERS:
        path = folder / name
        assert path.is_dir(), f"nginx did not make {name} at start"
        path.rmdir()
        path.write_text("nginx writes no temporary file\n")


class RunningProxy:
    def __init__(self, folder: Path, process: subprocess.Popen, ports: dict[str, int]):
        self.folder, self.process, self.ports = folder, process, ports
        self.https_port, self.http_port = ports["https_port"], ports["http_port"]

    def stop(self) -> None:
        """Stops nginx; what it writes on the way out is searched too."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def written(self) -> dict[str, bytes]:
        """Every file nginx could have written, by name: its logs, its pid file."""
        return {path.name: path.read_bytes() for path in self.folder.iterdir()
                if path.is_file() and path.name != "nginx.conf"}

    def access_log(self, *, lines: int) -> list[dict]:
        """The access log, once it has a line for each of the test's requests."""
        path = self.folder / "access.log"
        deadline = time.monotonic() + 10
        while len(path.read_text().splitlines()) < lines and time.monotonic() < deadline:
            time.sleep(0.05)
        return [json.loads(line) for line in path.read_text().splitlines()]

    def assert_nothing_written_of(self, *secrets_: str) -> None:
        self.stop()
        for name in TEMPORARY_FOLDERS:
            assert (self.folder / name).is_file(), f"nginx remade {name}"
        written = self.written()
        assert {"error.log", "access.log"} <= set(written)
        for name, content in written.items():
            for secret in secrets_:
                assert secret.encode() not in content, f"{secret!r} in {name}"


@contextlib.contextmanager
def running_proxy(folder: Path, upstream: int, *, text: str | None = None):
    folder.mkdir(exist_ok=True)
    self_signed(folder)
    ports = {"http_port": free_port(), "https_port": free_port()}
    config = loopback_config(folder, upstream=upstream, text=text, **ports)
    # As root, nginx's workers would run as "nobody", who cannot enter pytest's
    # private temporary folder; they run as the test's user instead.
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    process = subprocess.Popen([NGINX, "-c", str(config), "-p", str(folder), "-g",
                                directives], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    running = RunningProxy(folder, process, ports)
    try:
        wait_for_port(ports["https_port"])
        wait_for_port(ports["http_port"])
        trap_temporary_folders(folder)
        yield running
    finally:
        running.stop()


@pytest.fixture
def proxy(tmp_path, upstream):
    with running_proxy(tmp_path / "nginx", upstream) as running:
        yield running.ports


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
        try:
            sock.sendall(head.encode() + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the proxy answered (a 413) and stopped reading: read its answer
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


# A patient's link, its photo and bodies over the limit.

def link_token() -> str:
    return secrets.token_urlsafe(32)  # as a check-in link's, 43 characters


def photo_form(photo: bytes, boundary: str = "aftercare-form-boundary") -> bytes:
    """The check-in form as a phone posts it: a few answers and a JPEG."""
    fields = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in (("csrfmiddlewaretoken", "x" * 64), ("redness", "2"),
                            ("comment", "")))
    return (fields
            + f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; '
              f'filename="IMG_0001.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
            + photo + f"\r\n--{boundary}--\r\n".encode())


def post(port: int, path: str, body: bytes, *, chunked: bool = False, tls: bool = True,
         timeout: float = 15) -> tuple[int, bytes]:
    head = (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            "Content-Type: multipart/form-data; boundary=aftercare-form-boundary\r\n")
    if chunked:
        step = 64 * 1024
        payload = b"".join(f"{len(body[i:i + step]):x}\r\n".encode() + body[i:i + step] + b"\r\n"
                           for i in range(0, len(body), step)) + b"0\r\n\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n"
    else:
        payload = body
        head += f"Content-Length: {len(body)}\r\n\r\n"
    return request(port, head, payload, tls=tls, timeout=timeout)


def curl_http2(port: int, path: str, upload: Path, *, form: bool) -> tuple[str, bytes]:
    """POSTs over HTTP/2 with curl: the form with the file as its photo, or the
    file as a body of no announced length (nginx cannot size its buffer to it)."""
    answer = upload.with_suffix(".answer")
    sending = (["-F", f"photo=@{upload};type=image/jpeg"] if form
               else ["-X", "POST", "-H", "Content-Type: application/octet-stream", "-T", "-"])
    with upload.open("rb") as stdin:
        result = subprocess.run(
            [CURL, "-sk", "--http2", "-o", str(answer), "-w", "%{http_code} %{http_version}",
             *sending, f"https://127.0.0.1:{port}{path}"],
            stdin=stdin, capture_output=True, text=True, timeout=60)
    status, version = result.stdout.split()
    assert version == "2", result.stdout
    return status, answer.read_bytes() if answer.exists() else b""


def received(answer: bytes) -> tuple[int, str]:
    seen = json.loads(answer)
    return seen["body_bytes"], seen["body_sha256"]


def config_value(directive: str) -> str:
    line = next(line for line in CONFIG.read_text().splitlines()
                if line.strip().startswith(directive + " "))
    return line.split()[1].rstrip(";")


def megabytes(value: str) -> int:
    assert value.endswith("m"), value
    return int(value[:-1]) * MB


@pytest.fixture
def uploads(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


@needs_nginx
@needs_curl
def test_it_passes_a_2_mb_photo_on_from_memory_and_writes_the_link_nowhere(tmp_path, upstream,
                                                                           uploads):
    token = link_token()
    photo = os.urandom(2 * MB)
    form = photo_form(photo)
    (uploads / "photo.jpg").write_bytes(photo)

    with running_proxy(tmp_path / "nginx", upstream) as proxy:
        plain = post(proxy.https_port, f"/c/{token}/", form)
        chunked = post(proxy.https_port, f"/c/{token}/?lang=fr", form, chunked=True)
        status, answer = curl_http2(proxy.https_port, f"/c/{token}/", uploads / "photo.jpg",
                                    form=True)

        # Whole, through nginx's memory: a temporary file would have failed it.
        assert plain[0] == 200
        assert received(plain[1]) == (len(form), hashlib.sha256(form).hexdigest())
        assert chunked[0] == 200 and received(chunked[1])[0] == len(form)
        assert status == "200" and received(answer)[0] > len(photo)
        logged = proxy.access_log(lines=3)
        proxy.assert_nothing_written_of(token)

    assert [(line["method"], line["path"], line["status"]) for line in logged] == [
        ("POST", "/c/[redacted]/", 200)] * 3


@needs_nginx
@needs_curl
def test_it_keeps_a_body_of_exactly_the_limit_in_memory(tmp_path, upstream, uploads):
    # A body of unknown length (chunked, or HTTP/2 without Content-Length) gets a
    # buffer of client_body_buffer_size before nginx knows how much comes; one
    # that fills it is spooled. The buffer is larger than any body accepted.
    token = link_token()
    limit = megabytes(config_value("client_max_body_size"))
    body = os.urandom(limit)
    (uploads / "limit.bin").write_bytes(body)

    with running_proxy(tmp_path / "nginx", upstream) as proxy:
        chunked = post(proxy.https_port, f"/c/{token}/", body, chunked=True, timeout=30)
        status, answer = curl_http2(proxy.https_port, f"/c/{token}/", uploads / "limit.bin",
                                    form=False)

        whole = (limit, hashlib.sha256(body).hexdigest())
        assert chunked[0] == 200 and received(chunked[1]) == whole
        assert status == "200" and received(answer) == whole
        proxy.access_log(lines=2)
        proxy.assert_nothing_written_of(token)


@needs_nginx
@needs_curl
def test_it_refuses_a_12_mb_body_and_an_aborted_upload_without_writing_the_link(
        tmp_path, upstream, uploads):
    token = link_token()
    body = os.urandom(12 * MB)
    (uploads / "large.bin").write_bytes(body)

    with running_proxy(tmp_path / "nginx", upstream) as proxy:
        announced = post(proxy.https_port, f"/c/{token}/", body, timeout=30)
        chunked = post(proxy.https_port, f"/c/{token}/", body, chunked=True, timeout=30)
        over_http2, _ = curl_http2(proxy.https_port, f"/c/{token}/", uploads / "large.bin",
                                   form=True)
        unannounced, _ = curl_http2(proxy.https_port, f"/c/{token}/", uploads / "large.bin",
                                    form=False)
        plain_http = post(proxy.http_port, f"/c/{token}/", body, tls=False, timeout=30)
        capital = post(proxy.https_port, f"/C/{token}/", body, timeout=30)
        with tls_socket(proxy.https_port) as sock:  # half a photo, then the phone gives up
            sock.sendall((f"POST /c/{token}/ HTTP/1.1\r\nHost: localhost\r\n"
                          f"Content-Length: {2 * MB}\r\n\r\n").encode() + body[:MB])

        assert announced[0] == chunked[0] == capital[0] == 413
        assert over_http2 == unannounced == "413"
        assert plain_http[0] == 301  # to HTTPS, the body discarded
        logged = proxy.access_log(lines=7)
        proxy.assert_nothing_written_of(token)

    assert [line["status"] for line in logged if line["path"] == "/c/[redacted]/"] == [
        413, 413, 413, 413, 301, 413, 400]
    assert all(line["upstream_status"] == "" for line in logged)  # gunicorn saw none of them


@needs_nginx
def test_it_passes_a_large_answer_on_from_memory_to_a_slow_reader(tmp_path, upstream):
    token = link_token()
    size = 8 * MB  # far beyond the proxy's memory buffers for answers

    with running_proxy(tmp_path / "nginx", upstream) as proxy:
        with tls_socket(proxy.https_port, timeout=10) as sock:
            sock.sendall(f"GET /c/{token}/?answer_bytes={size} HTTP/1.1\r\nHost: localhost\r\n"
                         "Connection: close\r\n\r\n".encode())
            time.sleep(2)  # nginx's buffers fill: the rest waits upstream, not on disk
            data = b""
            while chunk := sock.recv(65536):
                data += chunk

        assert data.startswith(b"HTTP/1.1 200")
        assert len(data.partition(b"\r\n\r\n")[2]) == size
        proxy.access_log(lines=1)
        proxy.assert_nothing_written_of(token)


@needs_nginx
def test_it_writes_no_link_when_gunicorn_is_down_but_logs_other_failures(tmp_path):
    token = link_token()
    form = photo_form(os.urandom(2 * MB))

    with running_proxy(tmp_path / "nginx", free_port()) as proxy:  # nothing listens there
        link_get, _ = request(proxy.https_port, f"GET /c/{token}/ HTTP/1.1\r\n"
                                                "Host: localhost\r\nConnection: close\r\n\r\n")
        link_post, _ = post(proxy.https_port, f"/c/{token}/", form)
        desk, _ = request(proxy.https_port, "GET /admin/ HTTP/1.1\r\nHost: localhost\r\n"
                                            "Connection: close\r\n\r\n")

        assert link_get == link_post == desk == 502
        logged = proxy.access_log(lines=3)
        proxy.assert_nothing_written_of(token)
        errors = (proxy.folder / "error.log").read_text()

    # The error log is live: the desk's failure is in it; the link's only in the access log.
    assert "connect() failed" in errors and '"GET /admin/ HTTP/1.1"' in errors
    assert [(line["path"], line["status"], line["upstream_status"]) for line in logged] == [
        ("/c/[redacted]/", 502, "502"), ("/c/[redacted]/", 502, "502"), ("/admin/", 502, "502")]


@needs_nginx
def test_the_access_log_shows_the_path_only_with_every_spelling_of_a_link_redacted(
        tmp_path, upstream):
    token = link_token()
    spellings = [f"/c/{token}/", f"/c/{token}/?lang=es", f"//c/{token}/", f"/%63/{token}/",
                 f"/static/../c/{token}/", f"/C/{token}/"]

    with running_proxy(tmp_path / "nginx", upstream) as proxy:
        for path in [*spellings, "/admin/patients/patient/?q=Okafor"]:
            status, answer = request(proxy.https_port, f"GET {path} HTTP/1.1\r\n"
                                     "Host: localhost\r\nConnection: close\r\n\r\n")
            assert status == 200, path
        logged = proxy.access_log(lines=len(spellings) + 1)
        proxy.assert_nothing_written_of(token, "Okafor")

    assert [line["path"] for line in logged] == (["/c/[redacted]/"] * len(spellings)
                                                 + ["/admin/patients/patient/"])
    # The line's request_id is the X-Request-ID Django was given, to find its own lines.
    assert json.loads(answer)["request_id"] == logged[-1]["request_id"]
    assert len(logged[-1]["request_id"]) == 32


def test_every_log_the_config_writes_is_one_these_tests_read():
    # Another error_log or access_log (a file, syslog) would be a log nobody
    # here searched for a link: it must be a destination above, or none.
    destinations = set()
    for line in CONFIG.read_text().splitlines():
        words = line.split("#")[0].split()
        if words and words[0] in ("error_log", "access_log"):
            destinations.add(words[1].rstrip(";"))

    assert destinations == {*LOGS, "/dev/null"}


@needs_nginx
def test_the_trap_fails_a_body_or_answer_that_nginx_would_spool(tmp_path, upstream):
    # The check above can fail: with nginx's stock buffers (a 1 MB body buffer,
    # answers spooled up to 1 GB) the same photo and answer meet the trap.
    text = CONFIG.read_text()
    for setting, stock in (("client_body_buffer_size 12m;", "client_body_buffer_size 1m;"),
                           ("proxy_max_temp_file_size 0;", "")):
        assert setting in text
        text = text.replace(setting, stock)
    form = photo_form(os.urandom(2 * MB))

    with running_proxy(tmp_path / "nginx", upstream, text=text) as proxy:
        photo, _ = post(proxy.https_port, "/c/x/", form)
        with tls_socket(proxy.https_port, timeout=10) as sock:
            sock.sendall(f"GET /?answer_bytes={8 * MB} HTTP/1.1\r\nHost: localhost\r\n"
                         "Connection: close\r\n\r\n".encode())
            time.sleep(2)
            data = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):
                    data += chunk
        proxy.access_log(lines=2)
        proxy.stop()
        errors = (proxy.folder / "error.log").read_text()

    assert photo == 500
    assert len(data.partition(b"\r\n\r\n")[2]) < 8 * MB
    assert "Not a directory" in errors  # the answer's temporary file, outside /c/
