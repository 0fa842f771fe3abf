"""After `cdk deploy`: the endpoint exists and refuses a request without an API key (403).

Usage: python scripts/smoke_test.py cdk-outputs.json STACK_NAME
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request


def status_without_key(url: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps({"input": "smoke test"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def main(outputs_file: str, stack: str) -> int:
    with open(outputs_file, encoding="utf-8") as handle:
        url = json.load(handle)[stack]["EndpointUrl"]
    status = 0
    for _ in range(10):  # a new stage can take a few seconds to answer
        try:
            status = status_without_key(url)
        except urllib.error.URLError as exc:
            print(f"{url}: {exc}")
            status = 0
        if status == 403:
            print(f"ok: {url} refuses requests without an API key (403)")
            return 0
        time.sleep(5)
    print(f"FAILED: {url} answered {status} without an API key; expected 403")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
