"""Build step of handler/Makefile (never shipped): keep in botocore's endpoints.json
only the services the function calls, every partition's own data intact.

botocore parses endpoints.json (1.25 MB, every service of every partition) when a
session makes its first client: about 19 ms of a cold start on python3.13. Clients
of the kept services resolve exactly as before (their entries, the partitions'
regions, DNS suffixes and defaults are all kept). Written compact, deterministic.

    python prune_endpoints.py BOTOCORE_DATA/endpoints.json ENDPOINT_PREFIX...
"""

import json
import sys


def main(path: str, prefixes: list[str]) -> None:
    with open(path, encoding="utf-8") as f:
        endpoints = json.load(f)
    for partition in endpoints["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in prefixes}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(endpoints, f, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
