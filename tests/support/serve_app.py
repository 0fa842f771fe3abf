"""Run qubitz with the test pipelines as its own process (for crash/restart tests).

python -m tests.support.serve_app DATA_DIR PORT [research pipeline: forever | stepped]
"""

from __future__ import annotations

import sys
from pathlib import Path

from server.app import create_app
from server.serve import _Server, uvicorn_config
from server.settings import load_settings
from tests.support.pipelines import as_wiring, default_pipelines, forever, stepped


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    settings = load_settings(data_dir=data_dir, port=port, host="127.0.0.1")
    kind = sys.argv[3] if len(sys.argv) > 3 else "forever"
    research = stepped(steps=4, events=3, delay=0.15) if kind == "stepped" else forever()
    pipelines = {**default_pipelines(), "research": research}
    config = uvicorn_config(settings, create_app(settings, wiring=as_wiring(pipelines)))
    config.log_level = "warning"
    _Server(config).run()


if __name__ == "__main__":
    main()
