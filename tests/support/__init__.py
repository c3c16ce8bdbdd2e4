"""Helpers for the integration suite, kept beside the tests and out of the product.

- ``mail``: email backends a test (or a child process, through ``EMAIL_BACKEND``)
  records sends with, Django's file-backend folder read back, a loopback SMTP server;
- ``processes``: the Procfile's commands and the child processes a test starts;
- ``waiting``: polling until something happens;
- ``net``: free loopback ports and a TCP proxy a test can cut off;
- ``broker``: this process's Celery producer pointed elsewhere, Redis read as text;
- ``leaks``: words looked for in what left the product (the canary test).
- ``image``: the Docker image made from the Dockerfile and .dockerignore, without Docker.
"""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
