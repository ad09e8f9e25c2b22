# The harness image: `harness` is the entrypoint; docker-compose.yml also runs Locust from it.
FROM python:3.11-slim

WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Dependencies first, so editing a scenario does not reinstall them.
COPY pyproject.toml README.md ./
COPY harness ./harness
RUN pip install --no-cache-dir .
COPY scenarios ./scenarios

EXPOSE 8000 8089
ENTRYPOINT ["harness"]
CMD ["--help"]
