"""Run every benchmark module (or those named) and print its figures with the machine."""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path


def machine() -> str:
    """A one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(names: list[str]) -> int:
    """Import each benchmarks/<name>_bench.py and print what run() returns."""
    folder = Path(__file__).parent
    modules = names or sorted(p.stem for p in folder.glob("*_bench.py"))
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}")
    for name in modules:
        module = importlib.import_module(f"benchmarks.{name.removesuffix('.py')}")
        figures = module.run()
        print(f"## {name}\n{json.dumps(figures, indent=2, default=str)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
