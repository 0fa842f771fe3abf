"""`make demo`: start qubitz on the embedded defaults and run a research job end to end.

Starts `qubitz serve` as a child process, mints a UCT and a ControlHub key, runs research on the
bundled sample corpus with the local model, prints every stage and the eight artifact URLs,
then keeps serving (web console at /) until Ctrl-C. `--exit` stops after the job instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from qubitz_client import QubitzClient


def _mint(scope: str, data_dir: Path) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "keys",
            "create",
            "--scope",
            scope,
            "--name",
            "demo",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"qubitz serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("qubitz did not become ready")


async def _research(url: str, key: str, depth: str) -> int:
    client = QubitzClient(url, key)
    stream = client.research(
        prompt="How AI is changing logistics and supply chains",
        company_name="Northwind Logistics",
        company_url="https://northwind.example/",
        user_id="demo",
        session_id="demo-session",
        depth=depth,
    )
    async for msg in stream:
        match msg.type:
            case "status" | "multiagent_step":
                print(f"[{msg.type}] {msg.message}", flush=True)
            case "s3_upload_complete":
                print(f"Uploaded {msg.get('file_type')}: {msg.get('s3_url')}", flush=True)
            case "use_cases_complete":
                for uc in msg.get("use_cases", []):
                    print(f"  - {uc['title']} ({uc['impact_score']})")
            case "complete":
                print(f"\nReport: {msg.get('s3_deep_research_report_url')}")
                print(f"PDF:    {msg.get('s3_deep_research_pdf_url')}")
            case "error":
                print(f"ERROR: {msg.message}")
    try:
        await stream.result()
    except Exception as exc:
        print(f"research failed: {exc}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=".qubitz")
    parser.add_argument("--port", type=int, default=8008)
    parser.add_argument("--depth", choices=["quick", "standard", "deep"], default="quick")
    parser.add_argument("--exit", action="store_true", help="stop the service after the job")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    url = f"http://127.0.0.1:{args.port}"
    uct, ch = _mint("uct", data_dir), _mint("ch", data_dir)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(args.port),
            "--data-dir",
            str(data_dir),
        ],
        env=os.environ.copy(),
    )
    try:
        _wait_ready(url, proc)
        print(
            f"qubitz is up at {url} (data in {data_dir}).\n"
            f"UCT key (research, chat):           {uct}\n"
            f"ControlHub key (spec, deploy, keys): {ch}\n",
            flush=True,
        )
        code = asyncio.run(_research(url, uct, args.depth))
        if args.exit:
            return code
        print(f"\nWeb console: {url}/  (sign in with the keys above). Ctrl-C stops the service.")
        proc.wait()
        return code
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    raise SystemExit(main())
