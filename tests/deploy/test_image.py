"""The Docker image, made from the Dockerfile and .dockerignore without a Docker engine, and run.

tests/support/image.py makes exactly what the Dockerfile puts in the image:
the build context less what .dockerignore keeps out, the dependencies
installed the Dockerfile's way into a fresh virtual environment, its RUN steps
(the patients' languages compiled). From that tree and that environment alone,
with production settings (DJANGO_DEBUG=false, a real secret key, an https
SITE_URL), the tests run each docker-compose service's own command: migrate,
gunicorn, the Celery worker and beat; `manage.py check --deploy`; a French
patient's emailed link opened on gunicorn; and the compose file's health checks.

The database is a PostgreSQL database of its own and the broker a Redis
database of its own when the suite runs on them (CI always does); elsewhere an
SQLite file and a filesystem broker in the image's data folder.
"""

from __future__ import annotations

import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from tests.conftest import IN_CI
from tests.support import PROJECT_DIR
from tests.support.broker import broker_database_claimed
from tests.support.image import Image, image_build
from tests.support.mail import mail_folder_messages, message_plain_body
from tests.support.net import free_port
from tests.support.processes import ManagedProcess, database_url_for
from tests.support.waiting import wait_until

pytestmark = pytest.mark.image

COMPOSE = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
HOST = "desk.clinique-du-parc.example"
CLINIC = "Clinique du Parc"
PATIENT_EMAIL = "lea.dubois@mail.example"
# docker stop's grace before it kills a container.
STOP_GRACE = 10


# The image -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Image:
    folder = tmp_path_factory.mktemp("image")
    return image_build(context=PROJECT_DIR, root=folder / "root", venv=folder / "venv")


@dataclass
class Production:
    """What an operator gives the compose file: .env, a database, a broker."""

    database_url: str
    broker_url: str
    dotenv: dict[str, str]
    mail_dir: Path

    def env(self, image: Image, service: str, *, port: int | None = None) -> dict[str, str]:
        """A compose service's environment: .env, then the service's own `environment:`."""
        declared = {}
        for name, value in SERVICES[service].get("environment", {}).items():
            value = str(value)
            if name == "DATABASE_URL":
                value = self.database_url
            elif name == "CELERY_BROKER_URL":
                value = self.broker_url
            elif name == "GUNICORN_CMD_ARGS":
                assert port is not None, f"{service} binds a port"
                value = " ".join(f"--bind=127.0.0.1:{port}" if word.startswith("--bind")
                                 else word for word in shlex.split(value))
            assert "${" not in value, f"{service}'s {name} needs a value this test does not give"
            declared[name] = value
        return image.environ({**self.dotenv, **declared})


def _postgres_database() -> Iterator[str]:
    import psycopg
    from psycopg import sql

    database = settings.DATABASES["default"]
    server = {"host": database["HOST"] or "127.0.0.1", "port": database["PORT"] or 5432,
              "user": database["USER"] or "postgres", "password": database["PASSWORD"] or None}
    name = f"aftercare_image_{secrets.token_hex(4)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url_for({**database, "NAME": name})
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


def _redis_broker() -> Iterator[str]:
    with broker_database_claimed(settings.CELERY_BROKER_URL) as database:
        yield database.url


def _given(url: str) -> Iterator[str]:
    yield url


@pytest.fixture(scope="module")
def production(image, tmp_path_factory) -> Iterator[Production]:
    on_postgres = "postgres" in settings.DATABASES["default"]["ENGINE"]
    on_redis = settings.CELERY_BROKER_URL.startswith("redis://")
    if IN_CI and not (on_postgres and on_redis):
        pytest.fail("CI runs the image on PostgreSQL and Redis: set DATABASE_URL and "
                    "CELERY_BROKER_URL")
    data = image.path(image.env["AFTERCARE_VAR_DIR"])
    databases = _postgres_database() if on_postgres else _given(
        f"sqlite:///{data / 'aftercare.sqlite3'}")
    brokers = _redis_broker() if on_redis else _given("filesystem://")
    mail_dir = tmp_path_factory.mktemp("image-mail")
    try:
        yield Production(
            database_url=next(databases), broker_url=next(brokers), mail_dir=mail_dir,
            dotenv={
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_DEBUG": "false",
                "DJANGO_ALLOWED_HOSTS": HOST,
                "SITE_URL": f"https://{HOST}",
                "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "EMAIL_FILE_PATH": str(mail_dir),
                "DEFAULT_FROM_EMAIL": "aftercare@clinique-du-parc.example",
                # Reached the way this suite reaches it (.ci/run: through PgBouncer).
                "DATABASE_TRANSACTION_POOLING": "true" if getattr(
                    settings, "DATABASE_TRANSACTION_POOLING", False) else "false",
            })
    finally:
        for generator in (databases, brokers):
            generator.close()


def compose_command(service: str) -> list[str]:
    return [str(word) for word in SERVICES[service]["command"]]


def start(image: Image, service: str, env: dict[str, str], log_dir: Path) -> ManagedProcess:
    """A compose service's command, in a container of the image (cwd: WORKDIR)."""
    return ManagedProcess(service, compose_command(service), env=env, log_dir=log_dir,
                          cwd=image.app).start()


def get(port: int, path: str, *, host: str = HOST) -> tuple[int, dict, str]:
    """A request as the compose file's proxy passes it on: Host, X-Forwarded-Proto, X-Real-IP."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={
        "Host": host, "X-Forwarded-Proto": "https", "X-Real-IP": "203.0.113.7"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def serving(process: ManagedProcess, port: int) -> bool:
    assert process.alive(), f"gunicorn exited:\n{process.tail()}"
    try:
        return get(port, "/healthz")[0] == 200
    except OSError:  # not listening yet
        return False


@dataclass
class Deployment:
    image: Image
    production: Production
    migrate: subprocess.CompletedProcess[str]
    web: ManagedProcess
    port: int

    def manage(self, *args: str, **extra: str) -> str:
        """An operator's command: `docker compose run --rm web python manage.py …`."""
        env = {**self.production.env(self.image, "web", port=self.port), **extra}
        result = self.image.run(["python", "manage.py", *args], env=env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout


@pytest.fixture(scope="module")
def deployment(image, production, tmp_path_factory) -> Iterator[Deployment]:
    """`docker compose up`: the migrate service, then web's gunicorn."""
    migrate = image.run(compose_command("migrate"), env=production.env(image, "migrate"),
                        timeout=300)
    assert migrate.returncode == 0, f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}"
    port = free_port()
    web = start(image, "web", production.env(image, "web", port=port),
                tmp_path_factory.mktemp("image-logs"))
    try:
        wait_until(lambda: serving(web, port), timeout=60, message="gunicorn on /healthz")
        yield Deployment(image=image, production=production, migrate=migrate, web=web,
                         port=port)
    finally:
        web.stop()


# What the image holds ----------------------------------------------------------------


def test_the_image_holds_every_app_template_and_catalogue_the_settings_name(image):
    # The project's own apps, and core (plumbing the apps import, not an app).
    packages = {app.split(".")[0] for app in settings.INSTALLED_APPS
                if (PROJECT_DIR / app.split(".")[0]).is_dir()} | {"core"}
    assert {"accounts", "clinic", "followups", "health", "patients"} <= packages
    for package in packages:
        tracked = set(_git("ls-files", package))
        shipped = {path for path in image.copied if path.startswith(package + "/")}
        assert tracked - shipped == set(), f"{package} is not whole in the image"
    for folder in [*settings.TEMPLATES[0]["DIRS"], *settings.LOCALE_PATHS]:
        relative = Path(folder).relative_to(PROJECT_DIR)
        shipped = {path.relative_to(image.app / relative)
                   for path in (image.app / relative).rglob("*") if path.is_file()}
        tracked = {Path(name).relative_to(relative) for name in _git("ls-files", str(relative))}
        assert tracked - shipped == set(), f"{relative} is not whole in the image"
    for language in ("fr", "es"):
        assert (image.app / "locale" / language / "LC_MESSAGES" / "django.mo").is_file()
    assert (image.app / "manage.py").is_file()


def _git(*args: str) -> list[str]:
    result = subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_the_image_holds_nothing_git_ignores_nor_what_production_does_not_run(image):
    # What this working tree holds and git ignores: environments, var/, caches,
    # node_modules, test artifacts, .env. None of it may reach the image.
    copied = set(image.copied)
    checked = subprocess.run(["git", "check-ignore", "--stdin"], cwd=PROJECT_DIR,
                             input="\n".join(sorted(copied)), capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode in (0, 1), checked.stderr  # 1: nothing ignored
    assert checked.stdout.split() == []
    top = {path.split("/")[0] for path in copied}
    assert top & {".git", ".venv", "var", "node_modules", ".env", "tests", "bench", "docs",
                  "deploy", ".ci"} == set()
    assert [path for path in copied if path.endswith((".pem", ".key"))] == []
    assert not [path for path in copied if "__pycache__" in path or path.endswith(".pyc")]


def test_the_installed_distribution_holds_no_code_so_the_image_runs_its_copy(image):
    # pyproject installs no package (packages = []): only the dependencies and
    # metadata. Every import of the product is the copy under WORKDIR, from any
    # working directory (PYTHONPATH, ENV).
    listed = image.run(["pip", "show", "--files", "aftercare-desk"])
    assert listed.returncode == 0, listed.stderr
    files = listed.stdout.split("Files:", 1)[1].split()
    assert files and all(name.startswith("aftercare_desk-") for name in files), files

    packages = ["accounts", "clinic", "core", "followups", "health", "patients"]
    found = image.run(["python", "-c", "import importlib, sys; print('\\n'.join("
                       "importlib.import_module(name).__file__ for name in sys.argv[1:]))",
                       *packages], cwd=image.root)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [str(image.app / name / "__init__.py") for name in packages]


# Production settings --------------------------------------------------------------------


def test_check_deploy_is_clean_in_production_settings(image, production):
    result = image.run(["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                       env=production.env(image, "web", port=8000))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_migrate_service_applies_every_migration(deployment):
    assert deployment.migrate.returncode == 0
    assert "Applying patients.0001_initial... OK" in deployment.migrate.stdout
    # Nothing left: `migrate --check` exits non-zero on any unapplied migration.
    deployment.manage("migrate", "--check")


def test_a_french_patient_gets_a_french_email_and_a_french_page_from_the_image(deployment):
    # The operator's commands and the product's services, in one `manage.py shell`
    # (each process of the image takes seconds to start). A session performed
    # three days ago: its day-2 check-in is due, whatever the hour.
    deployment.manage("shell", "-c", f"""
from datetime import timedelta
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from followups.sessions import session_create
from patients.models import Clinic
from patients.services import patient_create
call_command("create_clinic", {CLINIC!r}, "--timezone", "Europe/Paris",
             "--phone", "+33 1 23 45 67 89", "--email", "alertes@parc.example")
call_command("create_staff", "infirmiere", "--clinic", {CLINIC!r})
patient = patient_create(actor=None, data={{
    "clinic": Clinic.objects.get(name={CLINIC!r}), "first_name": "Léa", "last_name": "Dubois",
    "email": {PATIENT_EMAIL!r}, "language": "fr"}})
session_create(actor=None, patient=patient,
               practitioner=get_user_model().objects.get(username="infirmiere"),
               performed_at=timezone.now() - timedelta(days=3), treatment_area="face",
               needle_depth_mm=Decimal("0.50"))
call_command("dispatch_checkins")
""", STAFF_PASSWORD=secrets.token_urlsafe(16))

    [email] = [message for message in mail_folder_messages(deployment.production.mail_dir)
               if PATIENT_EMAIL in message["To"]]
    # As a mail client shows it: the folded header's lines joined.
    assert " ".join(str(email["Subject"]).split()) == (
        f"Un questionnaire de suivi d’une minute de {CLINIC}")
    body = message_plain_body(email)
    assert body.startswith("Bonjour Léa,")
    link = re.search(rf"https://{re.escape(HOST)}(/c/[A-Za-z0-9_-]+/)", body)
    assert link, body

    status, headers, html = get(deployment.port, link.group(1))

    assert status == 200, html[:500]
    assert headers["Content-Language"] == "fr"
    assert '<html lang="fr">' in html
    assert "<h1>Comment va votre peau aujourd’hui\u202f?</h1>" in html
    assert "Envoyer mes réponses" in html


def test_gunicorn_serves_the_static_files_without_collectstatic(deployment):
    status, headers, css = get(deployment.port, "/static/admin/css/base.css")

    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert "body" in css


def test_the_compose_health_checks_pass_once_a_sweep_has_run(deployment):
    deployment.manage("dispatch_checkins")
    env = deployment.production.env(deployment.image, "web", port=deployment.port)

    for service in ("web", "beat"):
        kind, *argv = SERVICES[service]["healthcheck"]["test"]
        assert kind == "CMD"
        # The container's gunicorn listens on 8000; here on a spare port.
        argv = [word.replace("127.0.0.1:8000", f"127.0.0.1:{deployment.port}")
                for word in argv]
        result = deployment.image.run(argv, env=env, timeout=60)
        assert result.returncode == 0, (service, result.stdout, result.stderr)


# The long-running services: started from the image, stopped by docker stop -----------


def _worker_answers_ping(image: Image, env: dict[str, str], worker: ManagedProcess) -> bool:
    assert worker.alive(), f"the worker exited:\n{worker.tail()}"
    kind, command = SERVICES["worker"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    # A container's HOSTNAME is its host name, which the worker's node name carries.
    check = image.run(["/bin/sh", "-c", command.replace("$$", "$")],
                      env={**env, "HOSTNAME": socket.gethostname()}, timeout=60)
    return check.returncode == 0


def test_web_worker_and_beat_start_from_the_image_and_stop_on_sigterm(deployment, tmp_path):
    image, production = deployment.image, deployment.production
    code_before = image.files()
    port = free_port()
    envs = {service: production.env(image, service, port=port)
            for service in ("web", "worker", "beat")}
    # As `docker compose up` starts them: at once.
    started = {service: start(image, service, env, tmp_path) for service, env in envs.items()}
    web, worker, beat = started.values()
    data = image.path(image.env["AFTERCARE_VAR_DIR"])

    def beat_started() -> bool:
        assert beat.alive(), f"beat exited:\n{beat.tail()}"
        # Its schedule (a shelve: one file or several) in the data volume.
        return "beat: Starting..." in beat.output() and any(data.glob("celerybeat-schedule*"))

    try:
        wait_until(lambda: serving(web, port), timeout=90, message="/healthz")
        if production.broker_url.startswith("redis://"):
            wait_until(lambda: _worker_answers_ping(image, envs["worker"], worker), timeout=90,
                       message="the worker's compose health check (a ping)")
        else:  # a filesystem broker answers no ping
            wait_until(lambda: " ready." in worker.output(), timeout=90, message="the worker")
        wait_until(beat_started, timeout=90, message="beat to start")

        # docker stop: SIGTERM to each container's first process, SIGKILL 10 s later.
        for process in started.values():
            process.process.send_signal(signal.SIGTERM)
        for service, process in started.items():
            assert process.wait(timeout=STOP_GRACE) == 0, f"{service}:\n{process.tail()}"
    finally:
        for process in started.values():
            process.stop()
    # The code is the image's user's to read, not to write.
    assert image.files() == code_before


# Without a patient language's catalogue, nothing starts ------------------------------


@pytest.fixture(scope="module")
def image_without_french(image, tmp_path_factory) -> Image:
    copy = image.copy(tmp_path_factory.mktemp("image-without-french") / "root")
    (copy.app / "locale" / "fr" / "LC_MESSAGES" / "django.mo").unlink()
    return copy


def test_without_the_french_catalogue_nothing_starts_and_each_says_why(
        image_without_french, production, tmp_path):
    image = image_without_french
    services = ("migrate", "web", "worker", "beat")
    started = {service: start(image, service,
                              production.env(image, service, port=free_port()), tmp_path)
               for service in services}
    try:
        statuses = {service: process.wait(timeout=90) for service, process in started.items()}
        for service, process in started.items():
            assert "(patients.E001) No catalogue for French (fr)" in process.output(), service
        # Django's and Celery's error status. gunicorn's master halts on its
        # workers' "App failed to load" (4), or 1 when the second worker's
        # failure reaches it while it halts for the first (a race of its own).
        assert {name: statuses[name] for name in ("migrate", "worker", "beat")} == {
            "migrate": 1, "worker": 1, "beat": 1}, started["worker"].tail()
        assert statuses["web"] in (1, 4) and "App failed to load" in started["web"].output()
    finally:
        for process in started.values():
            process.stop()


def test_the_image_runs_as_its_own_user_from_the_python_this_machine_runs(image):
    assert image.from_image.startswith(f"python:{sys.version_info[0]}.{sys.version_info[1]}")
    # Not root: the user RUN made (useradd, chown: not made here) owns only the data folder.
    assert image.user == "aftercare"
    assert [step.split()[0] for step in image.not_made] == ["useradd", "chown"]
