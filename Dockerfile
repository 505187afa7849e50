# The demo project (demo/) with agentcore_task, for docker-compose.yml: the same image runs
# the web server (uvicorn), the Celery worker, Celery beat and the one-off setup step.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=demo.settings

WORKDIR /app

# The library first (its layer is rebuilt only when it changes), with what the demo project
# needs beside it: the [demo] extra without the embedded servers (the stack has real ones),
# plus uvicorn (ASGI: the live streams push). The library leaves the psycopg build to the project; this image takes the
# binary one, which brings its own libpq.
COPY pyproject.toml README.md ./
COPY agentcore_task ./agentcore_task
COPY sql ./sql
RUN pip install . "psycopg[binary]>=3.1" "celery[redis]>=5.3" "dj-database-url>=2.1" \
    "drf-spectacular-sidecar>=2024.1" "uvicorn>=0.29"

COPY demo ./demo

RUN useradd --create-home --uid 10001 demo
USER demo

EXPOSE 8000
CMD ["uvicorn", "demo.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
