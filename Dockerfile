# ramflow image: ramflowd (the sidecar) and the Python agent, which the Helm
# chart's init container copies into the worker pod from /opt/ramflow/agent.
#   scripts/build-image.sh          (podman, or docker where present; README "Image")
# Both stages start from debian:bookworm-slim (made locally by scripts/make-base-image.sh
# where no registry is reachable).

# Build stage: only what building needs (scripts/install-deps.sh --build), the release preset.
FROM debian:bookworm-slim AS build
# Names this stage's images, so scripts/build-image.sh can prune its old ones and nothing else.
LABEL org.opencontainers.image.title="ramflow-build"
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
# Only the sources the binary is built from (thresholds.json generates thresholds.h): a change
# to docs or tests reuses the layers above and below.
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY thresholds/thresholds.json thresholds/thresholds.json
COPY src src
# ccache's directory is a build cache kept by the engine between builds on the same machine.
RUN --mount=type=cache,target=/root/.cache/ccache,id=ramflow-ccache \
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_DIR=/root/.cache/ccache CCACHE_BASEDIR=/src \
 && cmake --preset release -DRAMFLOW_WITH_BPF=ON && cmake --build --preset release \
 && strip build/release/src/ramflowd

# Runtime stage: only the shared libraries ramflowd links (tests/helm/check-dockerfile.sh
# proves every library `ldd ramflowd` lists comes from a package named here; the pod
# test runs ldd inside the built image), plus curl: podman's `kube play` runs the chart's
# httpGet probes as `curl` inside the container (the kubelet does not need it).
FROM debian:bookworm-slim
ARG RUNTIME_PACKAGES="libc6 libgcc-s1 libstdc++6 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcpp-httplib0.11 libyaml-cpp0.7 libspdlog1.10 libfmt9 libbpf1 libelf1 zlib1g libssl3 libbrotli1 curl"
RUN apt-get update \
 && apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && groupadd --gid 1000 ramflow \
 && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ramflow \
 && mkdir -p /run/ramflow /var/lib/ramflow \
 && chown ramflow:ramflow /run/ramflow /var/lib/ramflow
COPY --from=build /src/build/release/src/ramflowd /usr/local/bin/ramflowd
COPY agent/ramflow /opt/ramflow/agent/ramflow
COPY agent/sitecustomize /opt/ramflow/agent/sitecustomize
# Last: the revision and date change with every build and must not invalidate the layers above.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="ramflow" \
      org.opencontainers.image.description="ramflowd, the sidecar that tells how close each Python worker pod is to the OOM killer, and the in-process Python agent" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/ramflow/ramflow" \
      org.opencontainers.image.url="https://github.com/ramflow/ramflow" \
      org.opencontainers.image.documentation="https://github.com/ramflow/ramflow/blob/main/docs/kubernetes.md" \
      org.opencontainers.image.licenses="Apache-2.0 AND GPL-2.0-only" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
USER 1000:1000
EXPOSE 9977
ENTRYPOINT ["ramflowd"]
CMD ["serve"]
