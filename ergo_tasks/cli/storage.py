"""``ergo storage init``: create the bucket, its CORS rule and lifecycle expiry."""

from __future__ import annotations

import argparse
import sys

from statestore import open_store

from ..analysis.keys import CHECKPOINTS, RESULTS, UPLOADS
from ..jobstore import JobStore
from ..service.settings import GatewaySettings


def cmd_storage_init(args: argparse.Namespace) -> int:
    from statestore.s3 import S3Store, configure_bucket

    store = open_store()
    if not isinstance(store, S3Store):
        print(f"The {store.provider} backend needs no setup (files live under {getattr(store, 'root', '?')}); "
              "use `ergo jobs purge` to remove old jobs.")
        return 0
    origins = [o.strip() for o in args.cors_origin.split(",") if o.strip()] if args.cors_origin else GatewaySettings().origins()
    if not origins and not args.cors_any:
        print("Say which web page may upload to the bucket: --cors-origin https://your-page.example (or ERGO_CORS_ORIGINS); "
              "--cors-any allows every origin.", file=sys.stderr)
        return 2
    created = store.create_bucket()
    origins = origins or ["*"]
    # status documents and idempotency records outlive the files they point to, so a status read can say
    # "expired" rather than "not found"; open markers never expire (an unfinished job keeps its place)
    expire = {UPLOADS: args.expire_uploads_days, CHECKPOINTS: args.expire_checkpoints_days, RESULTS: args.expire_results_days,
              JobStore.status_prefix: args.expire_status_days, JobStore.keys_prefix: args.expire_status_days}
    configure_bucket(store, origins, expire)
    print(f"Bucket {store.bucket} {'created' if created else 'exists'}; CORS allows PUT/GET from {', '.join(origins)}; "
          + ", ".join(f"{prefix} expire after {days} days" for prefix, days in expire.items() if days > 0) + ".")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    storage = sub.add_parser("storage", help="set up the object storage").add_subparsers(dest="storage_command", required=True)
    init = storage.add_parser("init", help="create the bucket, its CORS rule and lifecycle expiry")
    init.add_argument("--cors-origin", help="comma-separated origins allowed to upload (default ERGO_CORS_ORIGINS)")
    init.add_argument("--cors-any", action="store_true", help="allow uploads from any web page's origin")
    init.add_argument("--expire-uploads-days", type=int, default=7)
    init.add_argument("--expire-checkpoints-days", type=int, default=7)
    init.add_argument("--expire-results-days", type=int, default=30)
    init.add_argument("--expire-status-days", type=int, default=90, help="status documents (keep longer than results)")
    init.set_defaults(handler=cmd_storage_init)
