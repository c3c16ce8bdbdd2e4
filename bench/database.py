"""The benchmark's own PostgreSQL database, and the environment Django starts in.

Everything here runs before ``django.setup()``: settings are read from the
environment once, so the environment must be complete before Django starts,
in this process and in every process the benchmark spawns.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/aftercare_bench"
SETTINGS_MODULE = "bench.settings"


class BenchDatabaseRefused(Exception):
    """The URL names a database the benchmark must not drop."""


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def environment_configure(*, database_url: str, var_dir: str) -> dict[str, str]:
    """Set, and return, the variables the benchmark's Django processes start with.

    Emails go to the in-memory backend: the sweep still builds every message,
    which is part of what it costs, but nothing leaves the machine.
    """
    values = {
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "DJANGO_SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(48),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "AFTERCARE_VAR_DIR": var_dir,
        "CELERY_BROKER_URL": "memory://",
    }
    os.environ.update(values)
    return values


def database_recreate(database_url: str) -> None:
    """Drop and create the benchmark database: every run starts from nothing.

    Only a database whose name says it is a benchmark's is ever dropped, so a
    mistyped ``--database-url`` cannot take a real one with it.
    """
    import psycopg
    from psycopg import sql

    name = database_name(database_url)
    if "bench" not in name:
        raise BenchDatabaseRefused(
            f"refusing to drop database {name!r}: its name must contain 'bench'"
        )
    parts = urlsplit(database_url)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def connect(database_url: str, *, autocommit: bool = True):
    """A plain psycopg connection: the raw baselines and the data loader use it."""
    import psycopg

    return psycopg.connect(database_url, autocommit=autocommit)


def django_start(*, migrate: bool) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def database_copy(database_url: str, *, suffix: str) -> str:
    """Copy the benchmark database to ``<name><suffix>`` (dropped first); return its name.

    Django's connections are closed first: PostgreSQL copies only a database
    nobody is connected to.
    """
    import psycopg
    from django.db import connections
    from psycopg import sql

    name = database_name(database_url)
    copy = name + suffix
    if "bench" not in copy:
        raise BenchDatabaseRefused(f"refusing to replace database {copy!r}")
    connections.close_all()
    parts = urlsplit(database_url)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(copy)))
        connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(copy), sql.Identifier(name)))
    return copy
