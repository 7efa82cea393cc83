#!/usr/bin/env python3
"""Verifies an Attest audit chain from its JSONL export, without Attest.

Reads events in `seq` order, one JSON object per line, on stdin. Prints the
number of events and the head hash, or the first broken `seq` (exit 1).
Written from docs/audit.md, independently of the server's Rust code.
"""
import hashlib
import json
import sys

prev, count = "0" * 64, 0
for line in sys.stdin:
    if not line.strip():
        continue
    event = json.loads(line)
    body = {k: v for k, v in event.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    if event["prev_hash"] != prev or digest != event["hash"]:
        sys.exit(f"broken at seq {event['seq']}")
    prev, count = event["hash"], count + 1
print(f"ok {count} {prev}")
