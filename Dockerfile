# newsbot in a container (see docs/DEPLOY.md):
#   docker build -t newsbot .
#   docker run -d --name newsbot -v newsbot-data:/var/lib/newsbot \
#     -v "$PWD/config.toml:/etc/newsbot/config.toml:ro" \
#     -v "$PWD/telegram-token:/run/secrets/telegram_token:ro" -p 127.0.0.1:9464:9464 newsbot
# The config sets [storage] path = "/var/lib/newsbot/newsbot.db",
# [telegram] token_file = "/run/secrets/telegram_token" and [metrics] listen = "0.0.0.0:9464".

FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/newsbot --create-home newsbot
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels
ENV NEWSBOT_CONFIG=/etc/newsbot/config.toml PYTHONUNBUFFERED=1
USER newsbot
WORKDIR /var/lib/newsbot
VOLUME ["/var/lib/newsbot"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["newsbot", "health"]
ENTRYPOINT ["newsbot"]
CMD ["run"]
