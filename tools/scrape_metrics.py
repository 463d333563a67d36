#!/usr/bin/env python3
"""Scrapes a Legate manager's /metrics and parses it with the official Prometheus parser (prometheus_client).

Prints one JSON object: {"content_type": ..., "families": {name: type}, "samples": [[name, labels, value], ...]}.
Exits 1 if the endpoint cannot be read or the text does not parse, so a test or CI run fails on bad exposition.

    python3 tools/scrape_metrics.py http://127.0.0.1:9090/metrics
    python3 tools/scrape_metrics.py https://127.0.0.1:9090/metrics --cafile legate-data/tls/ca.pem
"""
import argparse
import json
import ssl
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--cafile", help="CA bundle that signed the manager's certificate (https)")
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.cafile) if args.url.startswith("https:") else None
    try:
        with urllib.request.urlopen(args.url, timeout=30, context=context) as response:
            content_type = response.headers.get("Content-Type", "")
            text = response.read().decode("utf-8")
    except Exception as error:  # noqa: BLE001 - any failure to fetch is a failed scrape
        print(f"scrape of {args.url} failed: {error}", file=sys.stderr)
        return 1
    families = {}
    samples = []
    try:
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for sample in family.samples:
                samples.append([sample.name, sample.labels, sample.value])
    except Exception as error:  # noqa: BLE001 - the parser raises ValueError and friends
        print(f"the exposition does not parse: {error}", file=sys.stderr)
        return 1
    json.dump({"content_type": content_type, "families": families, "samples": samples}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
