"""Strict readers for configuration from the environment.

A bad value stops start-up with one line naming the variable, so an operator
sees at once which setting to fix instead of a traceback deep in Django.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit


class ConfigurationError(Exception):
    """Raised for an environment variable that cannot be used as given."""


@contextmanager
def stop_on_configuration_error(*, exit_code: int = 2) -> Iterator[None]:
    """For an entry point (gunicorn, Celery): a bad variable is one line, then exit."""
    try:
        yield
    except ConfigurationError as error:
        sys.stderr.write(f"configuration error: {error}\n")
        sys.stderr.flush()
        raise SystemExit(exit_code) from None


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    raise ConfigurationError(f"{name} must be 'true' or 'false', got {raw!r}")


def env_choice(name: str, default: str, *, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "")
    value = raw.strip().lower() or default
    if value not in choices:
        raise ConfigurationError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {raw!r}"
        )
    return value


def env_required(name: str, why: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} must be set: {why}")
    return value


def env_aws_credentials(key_name: str, secret_name: str) -> dict[str, str]:
    """Both keys, or neither (boto3 then finds an instance role or its own config)."""
    key, secret = env_str(key_name).strip(), env_str(secret_name).strip()
    if bool(key) != bool(secret):
        missing = secret_name if key else key_name
        raise ConfigurationError(f"{missing} must be set together with "
                                 f"{key_name if key else secret_name}")
    return {"access_key": key, "secret_key": secret} if key else {}


def env_int(name: str, default: int, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise ConfigurationError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def env_list(name: str, default: str) -> list[str]:
    raw = os.environ.get(name, default)
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ConfigurationError(f"{name} must list at least one value, got {raw!r}")
    return items


def env_hosts(name: str, default: str) -> list[str]:
    """Host names for ALLOWED_HOSTS: a URL or a path there would refuse every request."""
    hosts = env_list(name, default)
    for host in hosts:
        if "/" in host or " " in host:
            raise ConfigurationError(
                f"{name} must list host names (e.g. clinic.example.com), not URLs, got {host!r}"
            )
    return hosts


def env_networks(name: str, default: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                                 ...]:
    """Addresses or networks, comma-separated: ``127.0.0.1, 10.0.0.0/8, ::1``.

    An empty value is the default; a host address is its own one-address
    network; a network with host bits set (``10.0.0.7/8``) is refused, since it
    most likely means something other than what it says.
    """
    raw = os.environ.get(name, "").strip() or default
    networks = []
    for item in raw.split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip()))
        except ValueError:
            raise ConfigurationError(
                f"{name} must list IP addresses or networks (e.g. 10.0.0.0/8), got {item.strip()!r}"
            ) from None
    if not networks:
        raise ConfigurationError(f"{name} must list at least one address or network, got {raw!r}")
    return tuple(networks)


def env_import_path(name: str, default: str) -> str:
    """A dotted path to a class whose module exists (a typo would fail every send)."""
    raw = os.environ.get(name, "") or default
    module, _, attribute = raw.rpartition(".")
    try:
        found = bool(module and attribute) and importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ConfigurationError(
            f"{name} must be the dotted path of an importable class, got {raw!r}"
        )
    return raw


def env_email(name: str, default: str) -> str:
    """An address, optionally with a display name: ``Clinic <desk@clinic.example>``."""
    raw = os.environ.get(name, "") or default
    _, address = parseaddr(raw)
    local, at, domain = address.rpartition("@")
    if not (local and at and domain) or " " in address:
        raise ConfigurationError(f"{name} must be an email address, got {raw!r}")
    return raw


def env_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "") or default
    parts = urlsplit(raw)
    needs_host = parts.scheme in ("http", "https", "redis", "rediss", "amqp")
    if parts.scheme not in schemes or (needs_host and not parts.hostname):
        raise ConfigurationError(
            f"{name} must be a URL starting with one of {', '.join(s + '://' for s in schemes)}"
            f", got {raw!r}"
        )
    return raw.rstrip("/") if parts.scheme in ("http", "https") else raw


def env_sentinel_nodes(name: str, url: str) -> list[tuple[str, int]]:
    """The (host, port) of each Sentinel in ``sentinel://h1:26379;sentinel://h2:26379``."""
    nodes = []
    for part in url.split(";"):
        parts = urlsplit(part.strip())
        try:
            port = parts.port or 26379
        except ValueError:
            port = None
        if parts.scheme != "sentinel" or not parts.hostname or port is None:
            # The value may carry a password: name the variable, not what it holds.
            raise ConfigurationError(
                f"{name} must list Sentinels as sentinel://host:26379, separated by ';'"
            )
        nodes.append((parts.hostname, port))
    return nodes


# A prepared statement planned for the values of each run, never a generic plan.
PLAN_EACH_RUN = "-c plan_cache_mode=force_custom_plan"


def database_from_url(name: str, url: str, *, prepared_statements: bool = True,
                      transaction_pooling: bool = False, connect_timeout: int = 5) -> dict:
    """Django DATABASES entry from a postgres:// or sqlite:/// URL.

    ``transaction_pooling``: behind a pooler in transaction mode (PgBouncer),
    where each transaction may run on another server connection, so nothing
    may outlive one: no server-side cursors (Django's ``iterator()`` would
    hold one across transactions) and no prepared statements.
    ``connect_timeout`` (seconds): a database that does not answer is an
    error that soon, not a request or a worker hung until the kernel gives up.
    """
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        database = parts.path.lstrip("/")
        if not database:
            raise ConfigurationError(f"{name} must name a database, e.g. postgres://host:5432/db")
        try:
            port = parts.port
        except ValueError:
            raise ConfigurationError(f"{name} has an invalid port") from None
        if transaction_pooling and prepared_statements:
            raise ConfigurationError(
                "DATABASE_PREPARED_STATEMENTS=true cannot be used with "
                "DATABASE_TRANSACTION_POOLING=true (the pooler cannot keep them)"
            )
        options: dict[str, bool | int | str | None]
        if transaction_pooling:
            # Client-side binding, and psycopg never prepares (a statement prepared
            # on one server connection is unknown on the next).
            options = {"prepare_threshold": None}
        elif prepared_statements:
            # Server-side binding lets psycopg prepare a statement run 5 times on
            # a connection, so PostgreSQL stops re-parsing the hot queries (the
            # patient's link, the sweep). Each run is still planned for its own
            # values (plan_cache_mode): a generic plan is made for an average
            # value, and ``status = $1`` planned for an average status read all
            # 6 million check-ins to count the 16,800 sent, one request in ten.
            options = {"server_side_binding": True, "prepare_threshold": 5,
                       "options": PLAN_EACH_RUN}
        else:
            options = {}
        options["connect_timeout"] = connect_timeout
        return {
            # Django's PostgreSQL backend with migrations that lock nothing for
            # long (django-pg-zero-downtime-migrations): CREATE INDEX
            # CONCURRENTLY, foreign keys and checks added NOT VALID then
            # validated, a lock_timeout on every statement that takes an
            # ACCESS EXCLUSIVE lock. Queries are Django's own.
            "ENGINE": "django_zero_downtime_migrations.backends.postgres",
            "NAME": unquote(database),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "DISABLE_SERVER_SIDE_CURSORS": transaction_pooling,
            "OPTIONS": options,
        }
    if parts.scheme == "sqlite":
        path = url[len("sqlite://"):]
        if path.startswith("/") and not path.startswith("//"):
            path = path[1:] if path.startswith("/./") else path
        if not path or path == "/":
            raise ConfigurationError(f"{name} must name an SQLite file, e.g. sqlite:///var/db.sqlite3")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    raise ConfigurationError(
        f"{name} must start with postgres://, postgresql:// or sqlite:///, got {url!r}"
    )


def database_timeouts(database: dict, *, statement_seconds: int, lock_seconds: int) -> None:
    """Bound every statement and every lock wait of this process's database connections.

    Set as the connection's start-up options (``-c statement_timeout``), so
    they hold from its first statement: a locked table or a runaway query
    becomes an error after that long instead of a request or a task waiting
    for ever. Web processes get a few seconds, workers longer (clinic/wsgi.py,
    clinic/celery.py); operator commands (migrations) none. Behind a pooler in
    transaction mode start-up options do not reach the server: set them on
    the database role there (docs/operations.md). SQLite has no such limits.
    """
    if "postgres" not in database.get("ENGINE", ""):  # Django's backend or the zero-downtime one
        return
    if database.get("DISABLE_SERVER_SIDE_CURSORS"):  # transaction pooling
        return
    options = database.setdefault("OPTIONS", {})
    options["options"] = " ".join(filter(None, [
        options.get("options", ""),
        f"-c statement_timeout={statement_seconds * 1000} "
        f"-c lock_timeout={lock_seconds * 1000}",
    ]))
