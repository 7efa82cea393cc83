#!/usr/bin/env python3
"""Verifies an Attest audit chain from its JSONL export, without Attest.

Reads events in `seq` order, one JSON object per line, on stdin. Prints the
number of events and the head hash, or the first broken `seq` (exit 1).

    verify-audit-chain.py [--checkpoints FILE --public-key HEX] < export.jsonl

With the org's signed checkpoints (`GET …/audit-events/checkpoints`) and the
published key (`GET /api/v1/audit/checkpoint-key`), every signature is checked,
every checkpoint must match the event at its `seq`, and a chain shortened by
retention must start right after a signed checkpoint. Checking signatures needs
the `cryptography` package. Written from docs/audit.md, independently of the
server's Rust code.
"""
import argparse
import hashlib
import json
import sys


def canonical(value):
    """RFC 8785 for Attest's JSON, which holds no floating-point numbers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signed_checkpoints(path, public_key_hex):
    """{seq: hash} of the checkpoints whose signature holds; exits on a forged one."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
    with open(path, encoding="utf-8") as f:
        checkpoints = json.load(f)["items"]
    anchors = {}
    for c in checkpoints:
        statement = {k: c[k] for k in ("org_id", "seq", "hash", "signed_at")}
        try:
            key.verify(bytes.fromhex(c["signature"]), canonical(statement))
        except (InvalidSignature, ValueError):
            sys.exit(f"broken at seq {c['seq']} (forged checkpoint)")
        anchors[c["seq"]] = c["hash"]
    return anchors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints")
    parser.add_argument("--public-key")
    args = parser.parse_args()
    anchors = {}
    if args.checkpoints:
        if not args.public_key:
            sys.exit("--checkpoints needs --public-key")
        anchors = signed_checkpoints(args.checkpoints, args.public_key)

    prev, last_seq, count = None, 0, 0
    for line in sys.stdin:
        if not line.strip():
            continue
        event = json.loads(line)
        seq = event["seq"]
        if prev is None:
            # The org's first event, or the first one retention left, which
            # follows a signed checkpoint.
            expected = "0" * 64 if seq == 1 else anchors.get(seq - 1)
        else:
            expected = prev if seq == last_seq + 1 else None
        body = {k: v for k, v in event.items() if k != "hash"}
        digest = hashlib.sha256(canonical(body)).hexdigest()
        if event["prev_hash"] != expected or digest != event["hash"] or anchors.get(seq, digest) != digest:
            sys.exit(f"broken at seq {seq}")
        prev, last_seq, count = event["hash"], seq, count + 1
    if anchors and max(anchors) > last_seq:
        sys.exit(f"broken at seq {last_seq + 1} (events missing before a checkpoint)")
    print(f"ok {count} {prev or '0' * 64}")


main()
