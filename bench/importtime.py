"""Import time of the servey_faas core (``import servey_faas``, no web layer).

Run from anywhere, in the dev venv::

    python bench/importtime.py              # 10 runs of each
    python bench/importtime.py --runs 20

Times ``python -c "import servey_faas"`` in fresh subprocesses, interleaved with
``python -c pass`` (the interpreter's own startup), and prints the medians and their difference
against the target (< 60 ms). Then checks, in one more fresh interpreter, that the heavy
libraries (starlette, schemey, marshy, jsonschema, ...) are not in ``sys.modules`` after
``import servey_faas``, and lists the slowest imports from ``python -X importtime``.

Exits 1 when the import time is over the target or a heavy module is imported, else 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

TARGET_MS = 60.0
#: Modules ``import servey_faas`` must not pull in (web layer, schemas, marshalling, others).
HEAVY = (
    "starlette",
    "schemey",
    "marshy",
    "jsonschema",
    "uvicorn",
    "httpx",
    "anyio",
    "strawberry",
    "celery",
    "injecty",
)

_LIST_HEAVY = f"""
import json, sys
import servey_faas
heavy = {list(HEAVY)!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="fresh interpreters per measurement (default 10)")
    parser.add_argument("--top", type=int, default=8, help="slowest imports to list (default 8)")
    args = parser.parse_args(argv)

    _time(["-c", "import servey_faas"])  # warm the file system cache and the .pyc files once
    bare: list[float] = []
    core: list[float] = []
    for _ in range(args.runs):
        bare.append(_time(["-c", "pass"]))
        core.append(_time(["-c", "import servey_faas"]))
    bare_ms = statistics.median(bare)
    core_ms = statistics.median(core)
    import_ms = core_ms - bare_ms
    print(f"python {sys.version.split()[0]} ({sys.executable}), {args.runs} fresh interpreters each")
    print(f"median python -c pass:                  {bare_ms:6.1f} ms  (min {min(bare):.1f}, max {max(bare):.1f})")
    print(f'median python -c "import servey_faas":  {core_ms:6.1f} ms  (min {min(core):.1f}, max {max(core):.1f})')
    verdict = "OK" if import_ms < TARGET_MS else "OVER TARGET"
    print(f"import servey_faas: {import_ms:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")

    done = subprocess.run([sys.executable, "-c", _LIST_HEAVY], capture_output=True, text=True, check=True)
    heavy_loaded: list[str] = json.loads(done.stdout)
    print(f"heavy modules checked: {', '.join(HEAVY)}")
    if heavy_loaded:
        print(f"heavy modules in sys.modules after import servey_faas: {', '.join(heavy_loaded)}: NOT OK")
    else:
        print("heavy modules in sys.modules after import servey_faas: none: OK")

    print(f"slowest imports (python -X importtime, cumulative, top {args.top}):")
    for cumulative_us, name in _slowest(args.top):
        print(f"  {cumulative_us / 1000:6.1f} ms  {name}")
    return 0 if import_ms < TARGET_MS and not heavy_loaded else 1


def _time(args: list[str]) -> float:
    """Wall time in milliseconds of one fresh ``python <args>``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True)
    return (time.perf_counter() - start) * 1000


def _slowest(top: int) -> list[tuple[int, str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import servey_faas"], capture_output=True, text=True, check=True
    )
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


if __name__ == "__main__":
    sys.exit(main())
