FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 AFTERCARE_VAR_DIR=/var/lib/aftercare
WORKDIR /app

COPY pyproject.toml README.md ./
COPY clinic ./clinic
COPY core ./core
COPY accounts ./accounts
COPY patients ./patients
COPY followups ./followups
COPY health ./health
COPY templates ./templates
COPY locale ./locale
COPY manage.py Procfile ./
# The patients' languages are compiled into the image: without the .mo files
# French and Spanish patients would read English.
RUN pip install --no-cache-dir . \
    && python locale/compile.py \
    && useradd --system --home /app aftercare \
    && mkdir -p /var/lib/aftercare && chown aftercare /var/lib/aftercare
USER aftercare
EXPOSE 8000
