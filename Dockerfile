# podsift: build with cargo, run from a slim image. The store lives in the /data volume.
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY config config
COPY benches benches
RUN cargo build --release --locked --bin podsift

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data podsift \
    && mkdir -p /data \
    && chown podsift /data
COPY --from=builder /src/target/release/podsift /usr/local/bin/podsift
# Read when no --config is given (after ./config/podsift.toml): mount your own over it to enable
# adapters, e.g. -v "$PWD/config/podsift.toml:/etc/podsift/podsift.toml:ro".
COPY config/podsift.example.toml /etc/podsift/podsift.toml
ENV PODSIFT_DATA_DIR=/data \
    PODSIFT_BIND=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
USER podsift
WORKDIR /data
ENTRYPOINT ["podsift"]
# The always-on service: ingests on a schedule, delivers digests, serves /healthz and /metrics.
CMD ["run"]
