"""Benchmark: the de-identification check against the labelled sentences, kind by kind.

Runs the check over tests/data/deid_sentences.jsonl and prints, per kind and overall, the
labelled spans, the warnings, precision and recall (a labelled span is found when a warning
of the same kind overlaps it), then the throughput in sentences per second.

    .venv/bin/python bench/deid.py [--repeat 20] [--misses] [--data FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from ethicsforum.cases import deid

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "deid_sentences.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="passes over the set to time")
    parser.add_argument("--misses", action="store_true", help="list misses and false alarms")
    parser.add_argument("--data", type=Path, default=DATA, help="a JSONL file of labelled text")
    args = parser.parse_args()
    lines = args.data.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line]

    labelled: Counter[str] = Counter()
    found: Counter[str] = Counter()
    warned: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for row in rows:
        text, spans = row["text"], row["spans"]
        warnings = deid.check_fields({"text": text})
        for s in spans:
            labelled[s["kind"]] += 1
            hit = any(
                w.kind == s["kind"] and w.start < s["end"] and s["start"] < w.end for w in warnings
            )
            found[s["kind"]] += hit
            if not hit and args.misses:
                print(f"MISS {s['kind']:9} {text[s['start'] : s['end']]!r}  <- {text}")
        for w in warnings:
            warned[w.kind] += 1
            good = any(
                w.kind == s["kind"] and w.start < s["end"] and s["start"] < w.end for s in spans
            )
            right[w.kind] += good
            if not good and args.misses:
                print(f"FALSE {w.kind:9} {w.text!r}  <- {text}")

    print(f"{len(rows)} sentences, {sum(1 for r in rows if r['spans'])} with identifiers\n")
    print("| kind | labelled | found | warnings | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in (*deid.KINDS, "overall"):
        if kind == "overall":
            n, f, w, r = (sum(c.values()) for c in (labelled, found, warned, right))
        else:
            n, f, w, r = labelled[kind], found[kind], warned[kind], right[kind]
        precision = f"{r / w:.2f}" if w else "-"
        recall = f"{f / n:.2f}" if n else "-"
        print(f"| {kind} | {n} | {f} | {w} | {precision} | {recall} |")

    texts = [row["text"] for row in rows]
    started = time.perf_counter()
    for _ in range(args.repeat):
        for text in texts:
            deid.check_fields({"text": text})
    elapsed = time.perf_counter() - started
    print(
        f"\n{len(texts) * args.repeat / elapsed:,.0f} sentences/second "
        f"({args.repeat} passes, {elapsed:.2f} s)"
    )


if __name__ == "__main__":
    main()
