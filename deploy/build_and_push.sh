#!/usr/bin/env bash
# Build the RunPod worker image, and push it when IMAGE names a registry.
#   deploy/build_and_push.sh                              builds ergo-ergonomics-worker:<tag> locally
#   deploy/build_and_push.sh docker.io/acme/ergo-worker   builds and pushes
# IMAGE may also come from ERGO_IMAGE. The tag defaults to the git commit plus a timestamp:
# RunPod caches images by tag, so every build gets a new one.
set -euo pipefail
cd "$(dirname "$0")/.."

image="${1:-${ERGO_IMAGE:-ergo-ergonomics-worker}}"
tag="${2:-${ERGO_TAG:-$(git rev-parse --short HEAD 2>/dev/null || echo local)-$(date -u +%Y%m%d%H%M%S)}}"

docker build --platform linux/amd64 -f deploy/Dockerfile -t "$image:$tag" .
if [[ "$image" == */* ]]; then
  docker push "$image:$tag"
  echo "Pushed $image:$tag; set it as the endpoint's container image."
else
  echo "Built $image:$tag locally. To push, name a registry: $0 docker.io/you/ergo-worker"
fi
