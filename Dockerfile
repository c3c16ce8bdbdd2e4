# The product's image: web, worker, beat and migrate (docker-compose.yml) all
# run it. tests/deploy/test_image.py builds what this file describes without a
# Docker engine (it reads this file and .dockerignore) and runs it.
FROM python:3.11-slim

# The code runs from /app (pyproject installs no package of its own, only the
# dependencies), whatever the working directory of a one-off command.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app \
    AFTERCARE_VAR_DIR=/var/lib/aftercare
WORKDIR /app

# The dependencies first: a layer that a change of code alone keeps. Built
# outside /app, so no build folder or egg-info lands beside the code.
COPY pyproject.toml README.md /tmp/aftercare/
RUN pip install --no-cache-dir /tmp/aftercare && rm -r /tmp/aftercare

# The whole project, less what .dockerignore keeps out.
COPY . .
# The patients' languages: the committed catalogues compiled again from their
# .po files, so the image never depends on a .mo being current.
RUN python locale/compile.py

RUN useradd --system --home /app aftercare \
    && mkdir -p /var/lib/aftercare && chown aftercare /var/lib/aftercare
USER aftercare
EXPOSE 8000
