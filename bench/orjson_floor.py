"""The floor for compile: read the script and parse every line with orjson, nothing else.

No tool that must look at every record can beat this by much, so
`shardplan compile` is measured as a multiple of it.
"""

from __future__ import annotations

import sys

import orjson


def parse_all(path: str) -> int:
    """Parse each line of the JSONL file at `path`; returns the number of records."""
    loads = orjson.loads
    count = 0
    with open(path, "rb") as script:
        for line in script:
            loads(line)
            count += 1
    return count


if __name__ == "__main__":
    parse_all(sys.argv[1])
