"""Stock per inventory from inventory.events, read the way a consumer outside
this codebase reads it: confluent-kafka, fastavro, the LATEST schema of each
event type as the reader schema, and no upcasting of its own (the bridge
publishes every event at the latest version of its type).

  python stock_consumer.py --bootstrap 127.0.0.1:9092 \
      --registry http://127.0.0.1:8081/apis/ccompat/v7 \
      --topic inventory.events --schemas ../schemas/inventory --expect 1000

Prints one JSON object: stock per persistence id, counts of applied and
duplicate events, and the versions the events were written at.
"""
import argparse
import glob
import io
import json
import os
import re
import struct
import sys
import time
import urllib.request
import uuid

from confluent_kafka import Consumer
from fastavro import parse_schema, schemaless_reader


def latest_reader_schemas(directory):
    """{full record name: (version, parsed schema)} of the highest <Type>.v<N>.avsc of each type."""
    best = {}
    for path in glob.glob(os.path.join(directory, "*.avsc")):
        m = re.fullmatch(r"(\w+)\.v(\d+)\.avsc", os.path.basename(path))
        if m and int(m[2]) > best.get(m[1], (0, ""))[0]:
            best[m[1]] = (int(m[2]), path)
    out = {}
    for version, path in best.values():
        with open(path) as f:
            schema = json.load(f)
        out[f"{schema['namespace']}.{schema['name']}"] = (version, parse_schema(schema))
    return out


class WriterSchemas:
    """Writer schemas by registry id (Confluent API: GET /schemas/ids/<id>), cached: ids are immutable."""

    def __init__(self, url):
        self.url, self.cache = url.rstrip("/"), {}

    def get(self, schema_id):
        if schema_id not in self.cache:
            with urllib.request.urlopen(f"{self.url}/schemas/ids/{schema_id}", timeout=10) as r:
                self.cache[schema_id] = parse_schema(json.loads(json.load(r)["schema"]))
        return self.cache[schema_id]


def decode(value, writers, readers):
    """Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary."""
    magic, schema_id = struct.unpack(">bI", value[:5])
    if magic != 0:
        raise ValueError(f"not Confluent wire format (magic byte {magic})")
    writer = writers.get(schema_id)
    _, reader = readers[writer["name"]]  # plain Avro schema resolution, writer → latest reader
    return writer["name"].split(".")[-1], schemaless_reader(io.BytesIO(value[5:]), writer, reader)


def stock_delta(event_type, e):
    """(on hand, reserved) change of one event, as the projector computes it."""
    if event_type == "StockReceived":
        return e["quantity"], 0
    if event_type == "StockReserved":
        return 0, e["quantity"]
    if event_type == "StockReleased":
        return 0, -e["quantity"]
    if event_type == "StockShipped":
        return -e["quantity"], -e["quantity"]
    if event_type == "StockAdjusted":
        return e["quantityDelta"], 0
    if event_type == "ZoneTransferred":
        return (-e["quantity"] if e["direction"] == "OUT" else e["quantity"]), 0
    return 0, 0  # InventoryCreated, StorageConditionViolated


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--schemas", required=True, help="folder of <Type>.v<N>.avsc files")
    p.add_argument("--expect", type=int, default=0, help="stop after this many events are applied")
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()

    readers, writers = latest_reader_schemas(a.schemas), WriterSchemas(a.registry)
    consumer = Consumer({
        "bootstrap.servers": a.bootstrap,
        "group.id": f"stock-example-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        # The bridge writes in transactions: never see a batch that was aborted.
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    })
    consumer.subscribe([a.topic])
    stock, last, pending = {}, {}, {}  # per persistence id: totals, last applied sequence_nr, early arrivals
    applied = duplicates = behind_reader = other_types = 0
    written_versions = {}
    deadline = time.monotonic() + a.timeout
    try:
        while time.monotonic() < deadline and (a.expect == 0 or applied < a.expect):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise RuntimeError(msg.error())
            headers = {k: v.decode() for k, v in (msg.headers() or [])}
            pid, seq = msg.key().decode(), int(headers["sequence_nr"])
            if f"inventory.events.{headers['event_type']}" not in readers:
                other_types += 1  # a type this consumer does not know (e.g. a newer one): not stock
                continue
            # No written_schema_version: relayed before the bridge upcast (then it is the value's version).
            written = headers.get("written_schema_version", headers["schema_version"])
            key = f"{headers['event_type']} v{written}"
            written_versions[key] = written_versions.get(key, 0) + 1
            # Below the reader's version: relayed before the latest version of its type existed.
            # Safe only if the steps between are resolution-only (docs/consumers/schema-evolution.md).
            reader_version, _ = readers[f"inventory.events.{headers['event_type']}"]
            behind_reader += int(headers["schema_version"]) < reader_version
            # De-duplicate and order by sequence_nr per persistence id (gapless, from 1).
            if seq <= last.get(pid, 0) or seq in pending.setdefault(pid, {}):
                duplicates += 1
                continue
            pending[pid][seq] = msg.value()
            while last.get(pid, 0) + 1 in pending[pid]:
                nxt = last.get(pid, 0) + 1
                event_type, event = decode(pending[pid].pop(nxt), writers, readers)
                on_hand, reserved = stock_delta(event_type, event)
                s = stock.setdefault(pid, {"onHand": 0, "reserved": 0})
                s["onHand"] += on_hand
                s["reserved"] += reserved
                last[pid], applied = nxt, applied + 1
    finally:
        consumer.close()
    gaps = {pid: sorted(p) for pid, p in pending.items() if p}
    json.dump({"stock": stock, "applied": applied, "duplicates": duplicates, "behindReader": behind_reader,
               "otherTypes": other_types,
               "writtenVersions": written_versions, "waitingForGaps": gaps}, sys.stdout)
    return 0 if a.expect == 0 or applied >= a.expect else 1


if __name__ == "__main__":
    sys.exit(main())
