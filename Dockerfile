# Attest: one self-contained binary (console assets embedded) on a slim, non-root image.
#
#   docker build -t attest .
#   docker run -p 8080:8080 -e ATTEST_PUBLIC_URL=https://attest.example.com \
#     -e ATTEST_SECRET_KEY=... -v attest-data:/data attest

# --- build -------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Tooling first, so its layers survive source changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY Cargo.toml Cargo.lock ./
COPY scripts scripts
RUN bash -c 'source scripts/lib/common.sh && ensure_wasm_target && ensure_wasm_bindgen'
COPY . .
ENV CARGO_TARGET_DIR=/src/target
RUN scripts/build-release && cp target/release/attest /attest

# --- run ---------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin attest \
 && mkdir -p /data && chown attest /data
COPY --from=build /attest /usr/local/bin/attest
USER attest
WORKDIR /data
ENV ATTEST_ENV=production \
    ATTEST_LISTEN=0.0.0.0:8080 \
    ATTEST_DATA_DIR=/data \
    ATTEST_DATABASE_URL=sqlite:///data/attest.db?mode=rwc
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/livez || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/attest"]
CMD ["serve"]
