"""Production-stack test: gunicorn, a Celery worker and Celery beat, driven over HTTP only.

The three processes run with the Procfile's commands (the ones docker-compose
runs), against a PostgreSQL database made and migrated for this test, a Redis
database of their own, and an SMTP server on loopback that keeps what it is
sent. Nothing is called in-process: an operator's commands, then a staff
member's API calls, then a patient's click on the emailed link.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tests.support.mail import RecordingSMTPServer, message_plain_body, message_text
from tests.support.net import free_port
from tests.support.processes import ProcessGroup, manage, process_command, service_env
from tests.support.waiting import wait_until

pytestmark = pytest.mark.services

CLINIC = "Harbour Skin Clinic"
ALERTS = "alerts@harbour-clinic.example"
PATIENT_EMAIL = "lena.ostrova@mail.example"


@dataclass
class Response:
    status: int
    headers: object
    text: str

    def json(self):
        return json.loads(self.text)


class Browser:
    """Just enough HTTP (urllib, no cookie magic) to be a staff member or a patient."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.token = ""

    def request(self, method: str, path: str, *, data: dict | None = None,
                form: dict | None = None, headers: dict | None = None) -> Response:
        url = path if path.startswith("http") else self.base_url + path
        headers = dict(headers or {})
        body = None
        if data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return Response(reply.status, reply.headers, reply.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read().decode())

    def created(self, path: str, data: dict) -> dict:
        reply = self.request("POST", path, data=data)
        assert reply.status == 201, (path, reply.status, reply.text)
        return reply.json()


@dataclass
class Stack:
    site_url: str
    env: dict
    smtp: RecordingSMTPServer
    processes: ProcessGroup

    def emails_to(self, address: str) -> list:
        return [message for message in self.smtp.received() if address in message["To"]]


def _server_connection_kwargs() -> dict:
    settings = connection.settings_dict
    return {"host": settings["HOST"] or "127.0.0.1", "port": settings["PORT"] or 5432,
            "user": settings["USER"] or "postgres", "password": settings["PASSWORD"] or None}


@pytest.fixture
def stack_database(require_postgres):
    """A database of its own, migrated by the same command docker-compose runs."""
    import psycopg
    from psycopg import sql

    from tests.support.processes import database_url_for

    name = f"aftercare_stack_{secrets.token_hex(4)}"
    server = _server_connection_kwargs()
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url_for({**connection.settings_dict, "NAME": name})
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


@pytest.fixture
def stack(stack_database, broker_url, smtp_server, processes, tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    port = free_port()
    site_url = f"http://127.0.0.1:{port}"
    env = service_env(
        database_url=stack_database, broker_url=broker_url, var_dir=var_dir, site_url=site_url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=smtp_server.host, EMAIL_PORT=str(smtp_server.port),
        DEFAULT_FROM_EMAIL="desk@aftercare.example",
        GUNICORN_CMD_ARGS=f"--bind=127.0.0.1:{port}",
    )
    manage("migrate", "--noinput", env=env)
    for name in ("web", "worker", "beat"):
        processes.start(name, process_command(name), env=env)
    web, browser = processes.processes[0], Browser(site_url)

    def web_ready() -> bool:
        assert web.alive(), "gunicorn exited"
        try:
            return browser.request("GET", "/healthz").status == 200
        except OSError:  # not listening yet
            return False

    wait_until(web_ready, timeout=30, message="gunicorn to answer /healthz")
    yield Stack(site_url=site_url, env=env, smtp=smtp_server, processes=processes)
    processes.stop_all()  # before the database is dropped


def answers_form(html: str) -> dict:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token, "the check-in page has no CSRF token"
    return {
        "csrfmiddlewaretoken": token.group(1),
        "rash": "mild", "rash_trend": "same", "breakouts": "none", "itching": "none",
        "swelling": "mild", "pain": "mild", "fever": "yes", "pus": "no", "hives": "no",
        "comments": "",
    }


def code_from_uri(uri: str) -> str:
    """What the nurse's authenticator app shows now, from the URI create_staff printed."""
    from django_otp.oath import TOTP

    query = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    secret = query["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key, step=30, digits=6).token():06d}"


def csrf_cookie(reply: Response) -> str:
    for header in reply.headers.get_all("Set-Cookie") or []:
        if header.startswith("csrftoken="):
            return header.split(";", 1)[0]
    raise AssertionError("the check-in page set no csrftoken cookie")


def test_the_production_stack_sends_the_day2_email_and_raises_the_urgent_alert(stack):
    # The operator sets up the clinic and a nurse.
    manage("create_clinic", CLINIC, "--timezone", "Europe/London", "--phone", "+44 20 7946 0018",
           "--email", ALERTS, "--send-hour", "0", env=stack.env)
    password = secrets.token_urlsafe(12)
    created = manage("create_staff", "nurse.ines", "--clinic", CLINIC, "--email",
                     "ines@harbour.example", "--otp",
                     env={**stack.env, "STAFF_PASSWORD": password})
    [uri] = [line for line in created.splitlines() if line.startswith("otpauth://totp/")]

    # The nurse records a session performed two days ago, over the API.
    staff = Browser(stack.site_url)
    reply = staff.request("POST", "/api/auth/token/",
                          data={"username": "nurse.ines", "password": password,
                                "otp_token": code_from_uri(uri)})
    assert reply.status == 200, reply.text
    staff.token = reply.json()["token"]
    clinic_id = staff.request("GET", "/api/clinics/").json()["results"][0]["id"]
    # The shared catalogue is the superuser's to change: they add the serum.
    created = manage("create_staff", "catalogue.admin", "--clinic", CLINIC, "--superuser",
                     "--otp", env={**stack.env, "STAFF_PASSWORD": password})
    [admin_uri] = [line for line in created.splitlines() if line.startswith("otpauth://totp/")]
    admin = Browser(stack.site_url)
    reply = admin.request("POST", "/api/auth/token/",
                          data={"username": "catalogue.admin", "password": password,
                                "otp_token": code_from_uri(admin_uri)})
    assert reply.status == 200, reply.text
    admin.token = reply.json()["token"]
    product = admin.created("/api/products/", {"name": "HydraCalm serum", "kind": "serum",
                                               "ingredients": ["hyaluronic acid"]})
    patient = staff.created("/api/patients/", {"clinic": clinic_id, "first_name": "Lena",
                                               "last_name": "Ostrova", "email": PATIENT_EMAIL})
    performed_at = datetime.now(UTC) - timedelta(days=2)
    session = staff.created("/api/sessions/", {
        "patient": patient["id"], "performed_at": performed_at.isoformat(),
        "treatment_area": "face", "device": "Dermapen 4", "needle_depth_mm": "0.50",
        "products": [{"product": product["id"], "phase": "post", "lot_number": "HC-2291"}],
    })
    day2 = next(c for c in session["checkins"] if c["day"] == 2)

    # Beat's sweep (once a minute) has the worker send the day-2 email over SMTP.
    [invitation] = wait_until(lambda: stack.emails_to(PATIENT_EMAIL), timeout=90,
                              message="the day-2 email over SMTP")
    link = re.search(re.escape(stack.site_url) + r"/c/[A-Za-z0-9_-]+/",
                     message_plain_body(invitation))
    assert link, message_text(invitation)
    assert staff.request("GET", f"/api/checkins/{day2['id']}/").json()["status"] == "sent"

    # The patient opens the link and reports a fever.
    patient_browser = Browser(stack.site_url)
    page = patient_browser.request("GET", link.group(0))
    assert page.status == 200, page.text[:500]
    done = patient_browser.request("POST", link.group(0), form=answers_form(page.text),
                                   headers={"Cookie": csrf_cookie(page)})
    assert done.status == 200, done.text[:1000]
    assert "Your answers have been sent" in done.text

    escalations = staff.request("GET", "/api/escalations/?level=urgent").json()["results"]
    assert [(e["patient"], e["checkin"], e["status"]) for e in escalations] == [
        (patient["id"], day2["id"], "open")
    ]
    assert "FEVER" in {reason["code"] for reason in escalations[0]["reasons"]}

    # The answers' "sweep now" hint has the worker email the clinic's alert address.
    [alert] = wait_until(lambda: stack.emails_to(ALERTS), timeout=60,
                         message="the urgent alert over SMTP")
    assert alert["Message-ID"] == f"<escalation-{escalations[0]['id']}-alert@127.0.0.1>"
    assert "Ostrova" not in message_text(alert)
    assert staff.request("GET", f"/api/checkins/{day2['id']}/").json()["status"] == "completed"
    assert len(stack.emails_to(PATIENT_EMAIL)) == 1
