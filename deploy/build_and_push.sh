#!/usr/bin/env bash
# Build the RunPod worker image and push it.
#   deploy/build_and_push.sh IMAGE [TAG]      e.g. deploy/build_and_push.sh docker.io/acme/ergo-worker
# IMAGE may also come from ERGO_IMAGE. The tag defaults to the git commit plus a timestamp:
# RunPod caches images by tag, so every build gets a new one.
set -euo pipefail
cd "$(dirname "$0")/.."

image="${1:-${ERGO_IMAGE:-}}"
if [[ -z "$image" ]]; then
  echo "usage: $0 IMAGE [TAG]   (or set ERGO_IMAGE)" >&2
  exit 2
fi
tag="${2:-${ERGO_TAG:-$(git rev-parse --short HEAD 2>/dev/null || echo local)-$(date -u +%Y%m%d%H%M%S)}}"

docker build --platform linux/amd64 -f deploy/Dockerfile -t "$image:$tag" .
docker push "$image:$tag"
echo "Pushed $image:$tag; set it as the endpoint's container image."
