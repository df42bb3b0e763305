"""The embedded store: tidy tables as compact Parquet, queried with DuckDB.

Layout of a store folder (the embedded default ships in ``sendcast/data``)::

    observations.parquet     every published number (tidy long table, see ingest.common)
    <table>.parquet          reference tables (la_lookup, statistical_neighbours, ...)
    series.parquet           harmonised analysis series on current council geography
    population.parquet       population by single year of age on current geography
    supersessions.parquet    where two releases covered the same figure: which one won
    manifest.json            releases, files (sha256), row counts, periods, build settings

Where a store is read from: ``$SENDCAST_STORE`` if set, else the user store
(``~/.local/share/sendcast/store``) if one has been built there, else the embedded copy.

Builds are atomic: everything is written to a temporary folder beside the destination,
validated, and only then swapped in; a failed build leaves the existing store untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from sendcast import ATTRIBUTION, __version__
from sendcast.ingest import ImportResult
from sendcast.ingest.common import KEY_COLUMNS, IngestError, concat_observations
from sendcast.ingest.registry import importers

EMBEDDED_DIR = Path(__file__).parent / "data"
USER_DIR = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "sendcast" / "store"


class StoreError(RuntimeError):
    """The store is missing, incomplete or could not be built."""


def store_dir() -> Path:
    """The folder the store is read from (see module docstring for the order)."""
    env = os.environ.get("SENDCAST_STORE")
    if env:
        return Path(env)
    if (USER_DIR / "manifest.json").is_file():
        return USER_DIR
    return EMBEDDED_DIR


@dataclass
class Store:
    """Read access to a store folder through DuckDB views over its Parquet files."""

    path: Path

    @cached_property
    def con(self) -> duckdb.DuckDBPyConnection:
        if not (self.path / "manifest.json").is_file():
            raise StoreError(f"no sendcast data store at {self.path}: run `sendcast data build --source DIR`")
        con = duckdb.connect(":memory:")
        for f in sorted(self.path.glob("*.parquet")):
            con.execute(f"CREATE VIEW \"{f.stem}\" AS SELECT * FROM read_parquet('{f.as_posix()}')")
        return con

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.path / "manifest.json").read_text()))

    def tables(self) -> list[str]:
        """Names of the tables in the store."""
        return sorted(f.stem for f in self.path.glob("*.parquet"))

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run SQL against the store's views and return a DataFrame."""
        return _plain_strings(self.con.execute(sql, params or []).df())

    def table(self, name: str) -> pd.DataFrame:
        """A whole table, as a DataFrame (raises StoreError if absent)."""
        if name not in self.tables():
            raise StoreError(f"table {name!r} is not in the store at {self.path}")
        return _plain_strings(pd.read_parquet(self.path / f"{name}.parquet"))

    def observations(self, **filters: str | int | list[str] | list[int]) -> pd.DataFrame:
        """Observations filtered by equality (or membership, for lists) on any column."""
        where: list[str] = []
        params: list[Any] = []
        for col, val in filters.items():
            if isinstance(val, list):
                where.append(f'"{col}" IN ({",".join("?" for _ in val)})')
                params.extend(val)
            else:
                where.append(f'"{col}" = ?')
                params.append(val)
        sql = "SELECT * FROM observations" + (" WHERE " + " AND ".join(where) if where else "")
        return self.query(sql, params)


def _plain_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as ordinary object columns (None for missing), whatever the Parquet
    reader chose, so every reader of the store sees the same types as the importers made."""
    for c in df.columns:
        if isinstance(df[c].dtype, pd.StringDtype):
            df[c] = df[c].astype(object).mask(df[c].isna(), None)
    return df


def open_store(path: Path | None = None) -> Store:
    """Open the store at ``path`` or at :func:`store_dir`."""
    return Store(Path(path) if path else store_dir())


# --------------------------------------------------------------------------- build


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _release_folders(source: Path) -> list[Path]:
    """The release folders below ``source``: itself if an importer recognises it, else children."""
    mods = importers()
    if any(m.detect(source) for m in mods):
        return [source]
    return sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))


@contextmanager
def _unpacked(source: Path) -> Iterator[Path]:
    """Yield a folder for ``source``: the folder itself, or a zip release unpacked to a temp dir."""
    if source.is_dir():
        yield source
        return
    if source.is_file() and zipfile.is_zipfile(source):
        with tempfile.TemporaryDirectory(prefix="sendcast-release-") as tmp:
            with zipfile.ZipFile(source) as zf:
                total = sum(i.file_size for i in zf.infolist())
                if total > 2_000_000_000:
                    raise StoreError(f"{source}: unpacks to {total:,} bytes; refusing")
                for info in zf.infolist():
                    target = (Path(tmp) / info.filename).resolve()
                    if not str(target).startswith(str(Path(tmp).resolve())):
                        raise StoreError(f"{source}: member {info.filename!r} escapes the folder")
                zf.extractall(tmp)
            yield Path(tmp)
        return
    raise StoreError(f"{source}: not a folder or a zip file of release files")


def resolve_releases(obs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Where two releases of one source cover the same figure, keep the later release.

    Returns ``(kept, supersessions)``; ``supersessions`` summarises, per source, measure and
    period, which release won and how many rows of which release were dropped.
    """
    if obs.empty:
        return obs, pd.DataFrame(
            columns=["source", "measure", "period_type", "year", "kept_release", "dropped_release", "rows"]
        )
    key = [c for c in KEY_COLUMNS if c != "la_name"] + ["source"]
    rel = pd.to_numeric(obs["release"], errors="coerce").fillna(0)
    order = obs.assign(_rel=rel).sort_values("_rel", ascending=False, kind="stable")
    dup = order.duplicated(key, keep="first")
    dropped = order[dup]
    kept = order[~dup].drop(columns="_rel").sort_index()
    if dropped.empty:
        sup = pd.DataFrame(
            columns=["source", "measure", "period_type", "year", "kept_release", "dropped_release", "rows"]
        )
    else:
        winners = order[~dup].set_index(key)["release"]
        d = dropped.assign(kept_release=winners.reindex(dropped.set_index(key).index).to_numpy())
        sup = (
            d.groupby(["source", "measure", "period_type", "year", "kept_release", "release"])
            .size()
            .reset_index(name="rows")
            .rename(columns={"release": "dropped_release"})
        )
    return kept.reset_index(drop=True), sup


def _periods(obs: pd.DataFrame) -> list[dict[str, Any]]:
    if obs.empty:
        return []
    g = obs.groupby(["source", "release", "period_type"])
    out = g.agg(first=("year", "min"), last=("year", "max"), rows=("year", "size")).reset_index()
    return [{str(k): v for k, v in r.items()} for r in out.to_dict("records")]


def build_store(
    source: Path,
    dest: Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    derived: bool = True,
) -> dict[str, Any]:
    """Build a store from release files or folders into ``dest`` (atomically); return the manifest.

    ``source`` may be a folder of release folders (like ``shared/data/raw``), a single release
    folder, or a zip of one. Every importer that recognises a folder is run on it. Nothing in
    ``dest`` changes unless every importer and every check succeeds.
    """
    dest = Path(dest) if dest else USER_DIR
    say = progress or (lambda _m: None)
    results: list[ImportResult] = []
    with _unpacked(Path(source)) as src:
        folders = _release_folders(src)
        mods = importers()
        unrecognised: list[str] = []
        for folder in folders:
            matched = [m for m in mods if m.detect(folder)]
            if not matched:
                unrecognised.append(folder.name)
            for m in matched:
                say(f"importing {folder.name} with {m.__name__.rsplit('.', 1)[-1]}")
                res = m.load(folder)
                results.append(res)
        if not results:
            raise StoreError(f"{source}: no importer recognised any release in it")
        obs = concat_observations(r.observations for r in results)
        obs, sup = resolve_releases(obs)
        tables: dict[str, pd.DataFrame] = {}
        for r in results:
            for name, t in r.tables.items():
                tables[name] = pd.concat([tables[name], t], ignore_index=True) if name in tables else t
        files = [
            {"source": r.source, "release": r.release, "file": f.name, "sha256": _sha256(f), "bytes": f.stat().st_size}
            for r in results
            for f in r.files
        ]
        notes = [n for r in results for n in r.notes]

    if derived:
        say("harmonising series on current council geography")
        from sendcast.harmonise.build import derived_tables

        tables.update(derived_tables(obs, tables))

    manifest: dict[str, Any] = {
        "sendcast_version": __version__,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(source),
        "attribution": ATTRIBUTION,
        "releases": sorted({(r.source, r.release) for r in results}),
        "files": files,
        "periods": _periods(obs),
        "rows": int(len(obs)),
        "tables": sorted(["observations", "supersessions", *tables]),
        "unrecognised_folders": unrecognised,
        "notes": notes,
    }
    write_store(dest, obs, sup, tables, manifest)
    return manifest


def write_store(
    dest: Path,
    observations: pd.DataFrame,
    supersessions: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
) -> None:
    """Write a store folder atomically: build in a temp sibling, then swap it in."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sendcast-build-", dir=dest.parent))
    try:
        # sorted so that repeated values sit together: about a third smaller on disk
        order = [
            c
            for c in ("source", "release", "file", "measure", "breakdown_topic", "breakdown", "la_code", "year")
            if c in observations.columns
        ]
        obs_sorted = observations.sort_values(order, kind="stable").reset_index(drop=True) if order else observations
        if "line" in obs_sorted.columns:
            obs_sorted = obs_sorted.assign(line=obs_sorted["line"].astype("int32"))
        _write_parquet(obs_sorted, tmp / "observations.parquet")
        _write_parquet(supersessions, tmp / "supersessions.parquet")
        for name, t in tables.items():
            _write_parquet(t, tmp / f"{name}.parquet")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
        (tmp / "ATTRIBUTION.md").write_text(
            f"{ATTRIBUTION}\n\nSources: DfE, ESFA, ONS official statistics; see manifest.json.\n"
        )
        # sanity: the store we just wrote opens and holds what we wrote
        check = Store(tmp)
        n = int(check.query("SELECT count(*) AS n FROM observations")["n"].iloc[0])
        if n != len(observations):
            raise StoreError(f"store check failed: wrote {len(observations)} rows, read {n}")
        check.con.close()
        old = dest.with_name(dest.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if dest.exists():
            # keep package files (e.g. __init__.py) out of the swap: the store is data only
            os.replace(dest, old)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; the store is readable like any package data
        os.replace(tmp, dest)
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    df = df.copy()
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype("string")
    df.to_parquet(path, compression="zstd", compression_level=9, index=False)


def status(store: Store) -> dict[str, Any]:
    """What is loaded: releases, files, row counts and periods covered."""
    m = store.manifest
    return {
        "path": str(store.path),
        "built_at": m.get("built_at"),
        "sendcast_version": m.get("sendcast_version"),
        "releases": m.get("releases"),
        "periods": m.get("periods"),
        "rows": m.get("rows"),
        "tables": store.tables(),
        "supersessions": int(store.query("SELECT count(*) AS n FROM supersessions")["n"].iloc[0])
        if "supersessions" in store.tables()
        else 0,
    }


__all__ = [
    "IngestError",
    "Store",
    "StoreError",
    "build_store",
    "open_store",
    "resolve_releases",
    "status",
    "store_dir",
]
