# Parapet container image: a build stage that compiles build/parapet with Debian 12's -dev
# packages (the build half of scripts/deps.sh), and a slim runtime stage with only the shared
# libraries, running as the non-root user `parapet`.
#
#   docker build -t parapet .
#   docker build --build-arg PARAPET_VERSION="$(git describe --always --dirty)" -t parapet .
#   docker run --rm -p 127.0.0.1:8080:8080 -e DATABASE_URL=postgresql://... \
#       -e PARAPET_SECRET_KEY="$(openssl rand -base64 32)" parapet
#
# docker-compose.yml runs it with PostgreSQL. `serve` migrates at start-up with
# DATABASE_OWNER_URL (or DATABASE_URL) unless PARAPET_MIGRATE=false; `migrate` only migrates:
#   docker run --rm -e DATABASE_OWNER_URL=postgresql://... parapet migrate

FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential pkg-config ca-certificates \
        libmicrohttpd-dev libpq-dev libjansson-dev libjwt-dev libssl-dev \
        libcurl4-openssl-dev libargon2-dev zlib1g-dev libhyperscan-dev libpcre2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# .git is not in the build context (.dockerignore), so the Makefile's `git describe` falls back
# to its default version unless PARAPET_VERSION is given.
ARG PARAPET_VERSION=
RUN if [ -n "$PARAPET_VERSION" ]; then \
        make -j"$(nproc)" VERSION="$PARAPET_VERSION"; \
    else \
        make -j"$(nproc)"; \
    fi \
    && build/parapet version

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (curl is for the HEALTHCHECK). A fixed UID/GID keeps volume
# permissions and Kubernetes' runAsNonRoot predictable.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libmicrohttpd12 libpq5 libjansson4 libjwt0 libssl3 libcurl4 libargon2-1 zlib1g libhyperscan5 libpcre2-8-0 \
        ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 parapet \
    && useradd --system --uid 10001 --gid parapet --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin parapet
COPY --from=build /src/build/parapet /usr/local/bin/parapet
USER parapet
ENV PARAPET_LISTEN=0.0.0.0:8080
EXPOSE 8080
# Liveness only (no database); /readyz is the readiness check for orchestrators. The address
# must follow PARAPET_LISTEN if that is changed.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1
# parapet handles SIGTERM itself (drains for up to 8 s); docker stop's default 10 s covers it.
ENTRYPOINT ["/usr/local/bin/parapet"]
CMD ["serve"]
