#!/usr/bin/env bash
# Stage 75: the image built with podman and the chart played as real pods
# (tests/pod/run.sh), then a user's Deployment through the chart's webhook mode (~40 s of
# it). Budget: ~3 min on a warm machine, 2.5 min measured (base image, build layers
# and ccache reused), ~10 min cold (debootstrap, apt in the build stage, a full
# release build); hard stop 15 min. Figures in docs/testing.md.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
timeout 900 tests/pod/run.sh
