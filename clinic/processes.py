"""The product's processes, read from the Procfile.

The demo (honcho), docker-compose.yml and the production-stack test all run
these same commands; the Procfile is the one place they are written.
gunicorn's address comes from GUNICORN_CMD_ARGS (default 127.0.0.1:8000).
"""

from __future__ import annotations

import shlex
from pathlib import Path

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"


def processes(procfile: Path = PROCFILE) -> dict[str, list[str]]:
    commands: dict[str, list[str]] = {}
    for line in procfile.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        commands[name.strip()] = shlex.split(command)
    return commands


PROCESSES = processes()
