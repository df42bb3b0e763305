"""Run metadata: what a finance officer needs to reproduce a figure months later.

Every run writes its settings, the sendcast version, the git commit (when run from a
checkout), and a SHA-256 of every input: the store's release files (from its manifest) and
every parameter file used.
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sendcast import ATTRIBUTION, __version__

PARAM_ROOT = Path(__file__).resolve().parents[1] / "parameters"


def git_commit() -> str | None:
    """The git commit of the sendcast checkout, or None when not run from one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def file_hashes(paths: list[Path]) -> dict[str, str]:
    """SHA-256 of each file, keyed by its path relative to the parameters folder if inside it."""
    out = {}
    for p in sorted(paths):
        key = str(p.relative_to(PARAM_ROOT)) if p.is_relative_to(PARAM_ROOT) else str(p)
        out[key] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_metadata(
    command: str, settings: dict[str, Any], store: Any | None = None, extra_files: list[Path] | None = None
) -> dict[str, Any]:
    """A JSON-ready record of a run."""
    params = sorted(PARAM_ROOT.rglob("*.yaml"))
    meta: dict[str, Any] = {
        "command": command,
        "settings": settings,
        "sendcast_version": __version__,
        "git_commit": git_commit(),
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameter_files": file_hashes(params + list(extra_files or [])),
        "attribution": ATTRIBUTION,
    }
    m = getattr(store, "manifest", None) if store is not None else None
    if isinstance(m, dict):
        meta["store"] = {
            "path": str(getattr(store, "path", "")),
            "built_at": m.get("built_at"),
            "files": {f"{f['source']}/{f['release']}/{f['file']}": f["sha256"] for f in m.get("files", [])},
        }
    return meta
