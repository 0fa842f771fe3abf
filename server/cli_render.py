"""How the client commands show a job's events: live progress, streamed text, or JSON lines."""

from __future__ import annotations

import json
import sys
from typing import Any

from qubitz_client import Event


class Renderer:
    """Human output: live progress for research/deploy, streamed text for chat and specs."""

    def __init__(self, json_lines: bool) -> None:
        self.json_lines = json_lines
        self._progress: Any = None
        self._task: Any = None
        self._streaming = False

    def __enter__(self) -> Renderer:
        if not self.json_lines and sys.stderr.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("starting", total=100)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _status(self, text: str, percent: int | None = None) -> None:
        if self._progress is not None:
            self._progress.update(
                self._task,
                description=text[:60],
                **({"completed": percent} if percent is not None else {}),
            )
        else:
            print(
                f"[{percent if percent is not None else '..'}%] {text}"
                if percent is not None
                else f"- {text}",
                file=sys.stderr,
            )

    def show(self, event: Event) -> None:
        if self.json_lines:
            print(json.dumps(event.raw), flush=True)
            return
        kind = event.type
        if event.is_keepalive:
            return
        if kind in {"chat_chunk", "stream_chunk"}:
            sys.stdout.write(event.text)
            sys.stdout.flush()
            self._streaming = True
            return
        if self._streaming:
            sys.stdout.write("\n")
            self._streaming = False
        if kind in {
            "status",
            "multiagent_step",
            "multiagent_progress",
            "chat_status",
            "deployment_started",
            "ack",
            "stream_start",
        }:
            self._status(event.message or str(event.get("step", kind)), event.progress_percent)
        elif kind == "s3_upload_complete":
            print(f"uploaded {event.get('file_type')}: {event.get('s3_url')}")
        elif kind == "use_cases_complete":
            for uc in event.get("use_cases", []):
                print(
                    f"  - {uc['title']} (impact {uc['impact_score']}, "
                    f"alignment {uc['alignment_score']})"
                )
        elif kind == "complete" and event.get("all_s3_urls"):
            print(f"project: {event.get('project_id')}")
            for name, url in event.get("all_s3_urls", {}).items():
                print(f"{name}: {url}")
        elif kind == "chat_complete":
            usage = event.get("session_info", {}).get("token_usage", {})
            print(
                f"\n--- {usage.get('total_tokens')} / {usage.get('limit')} session tokens",
                file=sys.stderr,
            )
        elif kind == "architecture":
            arch = event.payload.get("architecture", {})
            print(json.dumps(arch, indent=2))
            agents = len(arch.get("agents_config", {}))
            print(f"version {event.payload.get('version')}: {agents} agents", file=sys.stderr)
        elif kind == "deployment_complete":
            data = event.payload
            print(f"{data.get('deployment_status')}: {data.get('message')}")
            print(f"repository: {data.get('github_repo')}")
            if data.get("agent_endpoint"):
                print(f"endpoint: {data['agent_endpoint']}")
        elif kind == "api_key_created":
            for name in ("api_key_value", "api_key_id", "usage_plan_id", "api_endpoint"):
                print(f"{name}: {event.payload.get(name)}")
        elif kind == "api_key_deleted":
            print(f"deleted {event.payload.get('api_key_id')}")
        elif event.is_error:
            print(f"error {event.error_code}: {event.message}", file=sys.stderr)
