"""The statements each request sent to PostgreSQL, read off the wire.

Counting in Python misses some: psycopg sends BEGIN by itself before the
first query of a transaction and COMMIT from ``connection.commit()``, and
Django's connection health check (``CONN_HEALTH_CHECKS``) runs ``SELECT 1``
on the raw psycopg cursor; none of them passes Django's execute wrappers.
libpq's own trace (``PQtrace``) records every message the client sends:
``StatementCountMiddleware`` traces the worker's connections while a request
asking for it (``X-Bench-Trace: 1``) runs, and answers it with the statements
sent, in order, in the ``X-Bench-Statements`` header. Tracing costs about
10 µs a statement (a write per message sent), so the benchmark times requests
that do not ask for it and counts the statements of others, like them but
untimed.

A statement is a simple-protocol ``Query`` or an extended-protocol
``Execute``; its kind is the first word of its SQL (``SELECT 1`` alone is
kept whole: that is the health check). Preparing a statement (a ``Parse`` of
a named statement with no ``Execute``) is not a statement. Only the frontend
lines are read: libpq flushes them as each message is sent.

Active only where ``BENCH_STATEMENT_TRACE_DIR`` is set, which the benchmark
does for its gunicorn alone (``bench/settings.py``): the in-process
benchmarks run without it.
"""

from __future__ import annotations

import os
import re

TRACE_DIR_VARIABLE = "BENCH_STATEMENT_TRACE_DIR"
TRACE_HEADER = "X-Bench-Trace"  # "1": count this request's statements
HEADER = "X-Bench-Statements"
CONNECTED_HEADER = "X-Bench-Connections-Opened"
HEALTH_CHECK = "SELECT 1"

_FRONTEND = re.compile(r'F\t\d+\t(?P<message>\w+)\t?(?P<rest>.*)')
_QUOTED = re.compile(r'\s*"(?P<text>[^"]*)"?')


def statement_kind(sql: str) -> str:
    """``BEGIN``, ``SELECT``, ``INSERT``…, or ``SELECT 1`` for the health check."""
    text = sql.strip().rstrip(";").strip()
    if text.upper() == HEALTH_CHECK:
        return HEALTH_CHECK
    return text.split(None, 1)[0].upper() if text else "?"


class TraceReader:
    """A libpq trace (``PQTRACE_SUPPRESS_TIMESTAMPS``), read as it grows.

    ``feed`` takes the next piece of the trace and returns the kinds of the
    statements sent in it; prepared statements are remembered by name, so a
    ``Bind`` of one prepared long ago still has its kind.
    """

    def __init__(self, path: str | None = None):
        self.file = open(path, encoding="utf-8", errors="replace") if path else None  # noqa: SIM115
        self._partial = ""
        self.prepared: dict[str, str] = {}  # statement name -> kind
        self._portal = "?"  # the kind of the statement bound last
        # A Query (None) or the Parse of this name whose SQL starts on the next line.
        self._awaiting_sql: tuple[str | None] | None = None

    def prepared_names(self, known: dict[str, str], psycopg_connection=None) -> None:
        """Kinds of statements prepared before the trace began (a Bind names only them).

        From earlier traces of the same worker, and from psycopg's own cache
        of what it prepared (a private attribute: "?" if it is not there).
        """
        self.prepared.update(known)
        names = getattr(getattr(psycopg_connection, "_prepared", None), "_names", None) or {}
        for key, name in list(names.items()):
            try:
                self.prepared.setdefault(name.decode(), statement_kind(key[0].decode()))
            except (AttributeError, IndexError, TypeError, UnicodeDecodeError):
                continue

    def read(self) -> list[str]:
        return self.feed(self.file.read()) if self.file is not None else []

    def feed(self, text: str) -> list[str]:
        text = self._partial + text
        lines = text.split("\n")
        self._partial = lines.pop()  # not ended yet
        kinds = []
        for line in lines:
            kind = self._line(line)
            if kind is not None:
                kinds.append(kind)
        return kinds

    def _line(self, line: str) -> str | None:
        if line.startswith("B\t") and self._awaiting_sql is None:
            return None  # what the server answered: most of the trace, never a statement
        match = _FRONTEND.match(line)
        if match is None:
            if self._awaiting_sql is not None and line.strip() and not line.startswith("B\t"):
                # The SQL began with a line break: its first word is here.
                (name,), self._awaiting_sql = self._awaiting_sql, None
                if name is None:
                    return statement_kind(line)
                self.prepared[name] = statement_kind(line)
            return None
        message, rest = match["message"], match["rest"]
        if message == "Query":
            quoted = _QUOTED.match(rest)
            sql = quoted["text"] if quoted else rest
            if not sql.strip():
                self._awaiting_sql = (None,)
                return None
            return statement_kind(sql)
        if message == "Parse":
            # Parse "name" "sql…" n oids: an unnamed ("") one is bound next.
            name_match = _QUOTED.match(rest)
            name = name_match["text"] if name_match else ""
            sql_match = _QUOTED.match(rest, name_match.end() if name_match else 0)
            sql = sql_match["text"] if sql_match else ""
            if sql.strip():
                self.prepared[name] = statement_kind(sql)
            else:
                self._awaiting_sql = (name,)
            return None
        if message == "Bind":
            # Bind "portal" "statement" …
            portal_match = _QUOTED.match(rest)
            statement_match = _QUOTED.match(rest, portal_match.end() if portal_match else 0)
            name = statement_match["text"] if statement_match else ""
            self._portal = self.prepared.get(name, "?")
            return None
        if message == "Execute":
            return self._portal
        return None


class StatementCountMiddleware:
    """Outermost middleware of the benchmark's gunicorn: the statements of a request.

    Only a request sent with ``X-Bench-Trace: 1`` is traced (the others pass
    straight through, so the timed requests carry no tracing cost): every
    database connection of the worker is traced while it runs, to a file of
    its own under ``BENCH_STATEMENT_TRACE_DIR``, and the response lists the
    statements sent. A connection opened while it ran is traced from then on
    and the response says so (``X-Bench-Connections-Opened``): what Django
    sends while opening one (e.g. ``SET TIME ZONE``) comes before its trace.
    """

    def __init__(self, get_response):
        from django.db.backends.signals import connection_created

        self.get_response = get_response
        self.directory = os.environ[TRACE_DIR_VARIABLE]
        self.traces: list[tuple[object, int, str]] = []  # (psycopg connection, fd, path)
        self.tracing = False
        self.opened = 0
        self.requests = 0
        self.kinds: dict[str, str] = {}  # prepared statement name -> kind, kept per worker
        connection_created.connect(self._connection_opened, weak=False,
                                   dispatch_uid="bench-statement-trace")

    def _connection_opened(self, sender=None, *, connection, **kwargs) -> None:
        if self.tracing:
            self.opened += 1
            self._trace_start(connection.connection)

    def _trace_start(self, psycopg_connection) -> None:
        from psycopg import pq

        path = os.path.join(self.directory,
                            f"pgtrace-{os.getpid()}-{self.requests}-{len(self.traces)}.log")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        psycopg_connection.pgconn.trace(descriptor)
        psycopg_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS
                                                  | pq.Trace.REGRESS_MODE)
        self.traces.append((psycopg_connection, descriptor, path))

    def _trace_stop(self) -> list[str]:
        kinds = []
        for psycopg_connection, descriptor, path in self.traces:
            try:
                psycopg_connection.pgconn.untrace()  # flushes the trace
            except Exception:  # noqa: BLE001 - closed meanwhile: its trace is complete
                pass
            os.close(descriptor)
            reader = TraceReader(path)
            reader.prepared_names(self.kinds, psycopg_connection)
            kinds += reader.read()
            self.kinds.update(reader.prepared)
            reader.file.close()
            os.unlink(path)
        self.traces = []
        return kinds

    def __call__(self, request):
        if request.META.get("HTTP_X_BENCH_TRACE") != "1":
            return self.get_response(request)
        from django.db import connections

        self.requests += 1
        opened, self.tracing = self.opened, True
        try:
            for connection in connections.all(initialized_only=True):
                if connection.connection is not None:
                    self._trace_start(connection.connection)
            response = self.get_response(request)
        finally:
            self.tracing = False
            statements = self._trace_stop()
        response[HEADER] = ",".join(statements)
        if self.opened != opened:
            response[CONNECTED_HEADER] = str(self.opened - opened)
        return response
