# ramflow image: ramflowd (the sidecar) and the Python agent, which the Helm
# chart's init container copies into the worker pod from /opt/ramflow/agent.
#   docker build -t ghcr.io/ramflow/ramflow:0.1.0 .
# Build stage: the same dependency script and CMake preset as the README and CI.
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake --preset release && cmake --build --preset release \
 && strip build/release/src/ramflowd

# Runtime stage: only the shared libraries ramflowd links (tests/helm/check-dockerfile.sh
# proves every library `ldd ramflowd` lists comes from a package named here).
FROM debian:bookworm-slim
ARG RUNTIME_PACKAGES="libc6 libgcc-s1 libstdc++6 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcpp-httplib0.11 libyaml-cpp0.7 libspdlog1.10 libfmt9 libbpf1 libelf1 zlib1g libssl3 libbrotli1"
RUN apt-get update \
 && apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 ramflow \
 && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ramflow \
 && mkdir -p /run/ramflow /var/lib/ramflow \
 && chown ramflow:ramflow /run/ramflow /var/lib/ramflow
COPY --from=build /src/build/release/src/ramflowd /usr/local/bin/ramflowd
COPY agent/ramflow /opt/ramflow/agent/ramflow
COPY agent/sitecustomize /opt/ramflow/agent/sitecustomize
USER 1000:1000
EXPOSE 9977
ENTRYPOINT ["ramflowd"]
CMD ["serve"]
