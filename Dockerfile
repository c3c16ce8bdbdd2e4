FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 AFTERCARE_VAR_DIR=/var/lib/aftercare
WORKDIR /app

COPY pyproject.toml README.md ./
COPY clinic ./clinic
COPY patients ./patients
COPY followups ./followups
COPY health ./health
COPY templates ./templates
COPY manage.py Procfile ./
RUN pip install --no-cache-dir . \
    && useradd --system --home /app aftercare \
    && mkdir -p /var/lib/aftercare && chown aftercare /var/lib/aftercare
USER aftercare
EXPOSE 8000
