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

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
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
from sendcast.ingest.common import KEY_COLUMNS, OBSERVATION_COLUMNS, IngestError, concat_observations
from sendcast.ingest.registry import importers

EMBEDDED_DIR = Path(__file__).parent / "data"
USER_DIR = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "sendcast" / "store"


class StoreError(RuntimeError):
    """The store is missing, incomplete or could not be built."""


def store_dir() -> Path:
    """The folder the store is read from (see module docstring for the order).

    Raises StoreError when ``$SENDCAST_STORE`` is set but names no store, rather than falling
    back silently to another one.
    """
    env = os.environ.get("SENDCAST_STORE")
    if env:
        if not is_store_folder(Path(env).expanduser()):
            raise StoreError(
                f"SENDCAST_STORE={env}: no sendcast data store there (no manifest.json); unset it, or build one "
                f"with `sendcast data build --source DIR --dest {env}`"
            )
        return Path(env).expanduser()
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
        try:
            data = json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"no readable sendcast data store at {self.path} ({exc.__class__.__name__})") from None
        if not isinstance(data, dict):
            raise StoreError(f"{self.path / 'manifest.json'}: not a sendcast manifest")
        return data

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

# Names in a store folder; a folder with anything else in it is not replaced by a build.
STORE_FILE_NAMES = frozenset({"manifest.json", "ATTRIBUTION.md"})
STORE_FILE_SUFFIX = ".parquet"
# Tables that derived_tables() makes (rebuilt on every build, never kept from an old store).
DERIVED_TABLES = frozenset(
    {
        "councils",
        "boundary_changes",
        "apportionment",
        "series",
        "population",
        "neighbours_current",
        "data_quality",
        "reconciliation",
    }
)
# Reference tables that several releases add rows to (their union is the table).
UNION_TABLES = frozenset({"la_region"})
BUILD_PREFIX = ".sendcast-build-"
LEGACY_RELEASE_PREFIX = "sendcast-release-"
MAX_UNPACKED_BYTES = 2_000_000_000
# Temporary folders of builds from older versions (no owner recorded) are removed once this old.
STALE_SECONDS = 3600


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_store_folder(path: Path) -> bool:
    """True when ``path`` is a folder holding a sendcast store (a manifest that sendcast wrote)."""
    m = Path(path) / "manifest.json"
    if not m.is_file():
        return False
    try:
        data = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "sendcast_version" in data


def check_destination(dest: Path) -> Path:
    """Return the absolute store folder for ``dest``, or raise StoreError if a build may not use it.

    A build may write to a new folder, an empty one, or a folder holding a sendcast store and
    nothing else. It never replaces a user's folder: the home folder, the current folder or any
    folder above them, a file, or a folder with other files in it are refused.
    """
    dest = Path(dest).expanduser()
    target = dest.resolve()
    protected = {Path.home().resolve(), Path.cwd().resolve(), Path(target.anchor)}
    for keep in list(protected):
        protected.update(keep.parents)
    if target in protected:
        raise StoreError(
            f"refusing to build a store into {dest} ({target}): it is your home, the current folder or a folder "
            "above them; give a new folder, e.g. --dest ./sendcast-store"
        )
    if target.exists() and not target.is_dir():
        raise StoreError(f"{dest} is a file, not a store folder; give a new folder name with --dest")
    if target.is_dir():
        entries = sorted(p.name for p in target.iterdir())
        if entries and not is_store_folder(target):
            raise StoreError(
                f"{dest} is not empty and is not a sendcast store ({', '.join(entries[:3])}"
                f"{', ...' if len(entries) > 3 else ''}); give a new or empty folder with --dest"
            )
        other = [n for n in entries if n not in STORE_FILE_NAMES and not n.endswith(STORE_FILE_SUFFIX)]
        if other:
            raise StoreError(
                f"{dest} holds a sendcast store but also other files ({', '.join(other[:3])}); "
                "move them out or give another folder with --dest"
            )
    return target


@contextmanager
def build_lock(dest: Path) -> Iterator[None]:
    """Hold the build lock of store folder ``dest`` (a lock file beside it) for the block.

    A second build of the same store while one runs fails at once with a message: two builds
    would each swap in their own store and the last would win. The lock is released when the
    process ends, however it ends, so a killed build never blocks the next one.
    """
    import fcntl

    lock_path = dest.parent / f".{dest.name}.sendcast-lock"
    dest.parent.mkdir(parents=True, exist_ok=True)
    fh = lock_path.open("a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise StoreError(
                f"another sendcast build is writing {dest} (process {holder}); wait for it to finish and try again"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(dest: Path) -> list[Path]:
    """Remove what killed builds left behind; return the folders removed.

    Removed: this store's temporary build folders (``.<name>.sendcast-build-*`` beside it: the
    caller holds the store's build lock, so none is in use), ``<name>.old`` from older
    versions' two-rename swap, temporary build folders of other processes that have ended
    (their pid is in the name), and, once :data:`STALE_SECONDS` old, unowned
    ``.sendcast-build-*`` and system-temp ``sendcast-release-*`` folders of older versions.
    """
    removed: list[Path] = []
    now = time.time()
    own = f".{dest.name}{BUILD_PREFIX}"
    candidates = [dest.with_name(dest.name + ".old")]
    for p in dest.parent.glob(f"*{BUILD_PREFIX}*"):
        if p.name.startswith(own):
            candidates.append(p)
            continue
        m = re.search(r"\.sendcast-build-(\d+)-", p.name)
        if m and not _pid_alive(int(m.group(1))):
            candidates.append(p)
        elif not m and p.name.startswith(BUILD_PREFIX) and now - p.stat().st_mtime > STALE_SECONDS:
            candidates.append(p)
    for p in Path(tempfile.gettempdir()).glob(f"{LEGACY_RELEASE_PREFIX}*"):
        try:
            if p.is_dir() and p.stat().st_uid == os.getuid() and now - p.stat().st_mtime > STALE_SECONDS:
                candidates.append(p)
        except OSError:
            continue
    for p in candidates:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def refuse_symlinks(folder: Path) -> None:
    """Raise StoreError if any file or folder below ``folder`` is a symbolic link.

    Release folders hold files as published; a link could make an importer read (and echo in
    an error) a file outside the release, such as ``/etc/passwd``.
    """
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            p = Path(root) / name
            if p.is_symlink():
                raise StoreError(f"{p} is a symbolic link; a release folder must hold the published files themselves")


def _release_folders(source: Path) -> list[Path]:
    """The release folders below ``source``: itself if an importer recognises it, else children."""
    mods = importers()
    if any(m.detect(source) for m in mods):
        return [source]
    return sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))


def _is_zip_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def extract_zip(source: Path, target: Path, *, max_bytes: int | None = None) -> None:
    """Unpack zip ``source`` into folder ``target``, member by member, counting real bytes.

    Raises StoreError (naming the zip and member) for a member that escapes the folder or is a
    link, a zip that unpacks to more than ``max_bytes`` (default :data:`MAX_UNPACKED_BYTES`,
    counted as declared and as actually written) or to more than the free disk space,
    and a damaged member (bad CRC, truncated data), instead of the zip module's tracebacks.
    """
    max_bytes = MAX_UNPACKED_BYTES if max_bytes is None else max_bytes
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    try:
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
            declared = sum(i.file_size for i in infos)
            if declared > max_bytes:
                raise StoreError(f"{source}: unpacks to {declared:,} bytes, more than the {max_bytes:,} bytes allowed")
            free = shutil.disk_usage(root).free
            if declared > free:
                raise StoreError(f"{source}: unpacks to {declared:,} bytes; only {free:,} free beside the store")
            written = 0
            for info in infos:
                out = (root / info.filename).resolve()
                if out != root and root not in out.parents:
                    raise StoreError(f"{source}: member {info.filename!r} escapes the folder")
                if _is_zip_symlink(info):
                    raise StoreError(f"{source}: member {info.filename!r} is a symbolic link")
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, out.open("wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > max_bytes:
                            raise StoreError(f"{source}: unpacks to more than the {max_bytes:,} bytes allowed")
                        dst.write(chunk)
    except StoreError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise StoreError(f"{source}: damaged or unreadable zip ({exc})") from None


@contextmanager
def _unpacked(source: Path, work: Path) -> Iterator[Path]:
    """Yield a folder for ``source``: the folder itself, or a zip release unpacked into ``work``
    (a folder beside the destination, removed with the build's temporary folder)."""
    if source.is_dir():
        yield source
        return
    if source.is_file() and zipfile.is_zipfile(source):
        extract_zip(source, work)
        yield work
        return
    raise StoreError(f"{source}: not a folder or a zip file of release files")


def resolve_releases(obs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Where two releases of one source cover the same figure, keep the later release.

    Returns ``(kept, supersessions)``; ``supersessions`` summarises, per source, measure and
    period, which release won and how many rows of which release were dropped.
    """
    if obs.empty:
        return obs, _empty_supersessions()
    key = [c for c in KEY_COLUMNS if c != "la_name"] + ["source"]
    rel = pd.to_numeric(obs["release"], errors="coerce").fillna(0)
    order = obs.assign(_rel=rel).sort_values("_rel", ascending=False, kind="stable")
    dup = order.duplicated(key, keep="first")
    dropped = order[dup]
    kept = order[~dup].drop(columns="_rel").sort_index()
    if dropped.empty:
        sup = _empty_supersessions()
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


def _empty_supersessions() -> pd.DataFrame:
    return pd.DataFrame(columns=["source", "measure", "period_type", "year", "kept_release", "dropped_release", "rows"])


def check_conflicts(obs: pd.DataFrame, origins: list[str]) -> pd.DataFrame:
    """Refuse one release given twice with different figures; drop exact repeats.

    ``obs`` carries ``_origin`` (an index into ``origins``, the folders the rows came from).
    The same source, release and figure from two folders with different values raises
    StoreError naming both folders and the figure; the same values are kept once.
    """
    key = [c for c in KEY_COLUMNS if c != "la_name"] + ["source", "release"]
    dup = obs.duplicated(key, keep=False)
    if not dup.any():
        return obs.drop(columns="_origin")
    d = obs[dup].assign(
        _v=obs.loc[dup, "value"].fillna(-1.5e308),
        _r=pd.factorize(obs.loc[dup, "missing_reason"].fillna(""))[0],
    )
    g = d.groupby(key, sort=False, dropna=False)
    # vectorised "more than one distinct value in the group": min differs from max
    differs = (g["_v"].transform("min") != g["_v"].transform("max")) | (
        g["_r"].transform("min") != g["_r"].transform("max")
    )
    clash = d[differs]
    if len(clash):
        row = clash.iloc[0]
        same_key = (clash[key] == row[key]).all(axis=1)
        other = clash[same_key & ((clash["_v"] != row["_v"]) | (clash["_r"] != row["_r"]))].iloc[0]
        raise StoreError(
            f"{row['source']} release {row['release']} is given twice with different figures: "
            f"{origins[int(row['_origin'])]}/{row['file']} line {row['line']} has {row['value']:g} and "
            f"{origins[int(other['_origin'])]}/{other['file']} line {other['line']} has {other['value']:g} "
            f"for {row['la_name']} {row['measure']} {row['period']}; keep one copy of the release"
        )
    return obs[~obs.duplicated(key, keep="first")].drop(columns="_origin").reset_index(drop=True)


# The reference tables each publication's importer gives (a recognised release must give them).
EXPECTED_TABLES: dict[str, tuple[str, ...]] = {
    "la-lookups": ("la_lookup",),
    "dfe-statistical-neighbours": ("statistical_neighbours",),
    "dfe-lait": ("lait_measures",),
    "ehcp-statistics": ("la_region",),
}


def check_results(results: list[ImportResult], folders: list[str]) -> None:
    """Every recognised publication must contribute: observations or reference tables with rows,
    and each table it should give (:data:`EXPECTED_TABLES`) with rows."""
    for r, folder in zip(results, folders, strict=True):
        has_tables = any(len(t) for t in r.tables.values())
        if not len(r.observations) and not has_tables:
            raise StoreError(f"{folder}: recognised as {r.source} but gave no rows; check its files")
        for name in EXPECTED_TABLES.get(r.source, ()):
            if name not in r.tables or not len(r.tables[name]):
                raise StoreError(f"{folder}: {r.source} gave no {name} table; check its files")


def _load_known_gaps() -> pd.DataFrame:
    from sendcast.parameters import read_yaml_mapping

    data = read_yaml_mapping(KNOWN_GAPS_FILE)
    return pd.DataFrame(data.get("gaps", []))


KNOWN_GAPS_FILE = Path(__file__).parent / "reconciliation_known_gaps.yaml"


def check_reconciliation(recon: pd.DataFrame) -> None:
    """Fail the build when councils do not add up to the national row beyond what suppression
    explains (see :func:`sendcast.harmonise.ehcp.reconciliation_gaps`), naming the first gap."""
    from sendcast.harmonise.ehcp import reconciliation_gaps

    if "error" in recon.columns:
        raise StoreError(f"reconciliation of councils against England failed: {recon['error'].iloc[0]}")
    gaps = reconciliation_gaps(recon, _load_known_gaps())
    if len(gaps):
        g = gaps.iloc[0]
        raise StoreError(
            f"{g['source']} {g['measure']} {g['period_type']} {g['year']}: councils add up to {g['sum_of_las']:,.0f} "
            f"but England is published as {g['published']:,.0f} ({int(g['las'])} council rows, "
            f"{int(g['las_missing'])} without a number), more than suppression explains"
            + (f"; {len(gaps) - 1} more such gaps" if len(gaps) > 1 else "")
            + " (a file cut short or a block of councils missing?)"
        )


def _base_store(dest: Path) -> Store | None:
    """The store a build adds to: the one at ``dest``, or, for the user store that does not
    exist yet, the embedded store that is read until then."""
    if is_store_folder(dest):
        return Store(dest)
    if dest == USER_DIR.resolve() and is_store_folder(EMBEDDED_DIR):
        return Store(EMBEDDED_DIR)
    return None


def merge_with_base(
    base: Store,
    results: list[ImportResult],
    obs: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    files: list[dict[str, Any]],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame], list[dict[str, Any]], list[list[str]]]:
    """Combine a build of some releases with the store it updates.

    The releases built replace the same releases in ``base`` (all rows of their files); every
    other release, its rows, reference tables and file records are kept. Returns
    ``(observations, old_supersessions_still_true, tables, files, kept_releases)``. Raises
    StoreError when rows that ``base`` dropped in favour of a replaced release are no longer
    covered by it (only a full build can bring them back).
    """
    built = {(r.source, r.release) for r in results}
    m = base.manifest
    base_files = m.get("files", [])
    replaced_files = {(f["source"], f["file"]) for f in base_files if (f["source"], f["release"]) in built}
    kept_releases = [list(x) for x in m.get("releases", []) if tuple(x) not in built]
    old = base.table("observations")
    gone = pd.Series(list(zip(old["source"], old["file"], strict=True)), index=old.index).isin(replaced_files)
    kept_obs = old[~gone.to_numpy()]
    replaced_rows = set(zip(old.loc[gone.to_numpy(), "source"], old.loc[gone.to_numpy(), "release"], strict=True))
    replaced_rows |= set(zip(obs["source"], obs["release"], strict=True))
    merged = concat_observations([kept_obs[OBSERVATION_COLUMNS], obs])

    sup_old = base.table("supersessions") if "supersessions" in base.tables() else _empty_supersessions()
    keep_sup = []
    for row in sup_old.to_dict("records"):
        won = (row["source"], str(row["kept_release"])) in replaced_rows
        lost = (row["source"], str(row["dropped_release"])) in replaced_rows
        if lost:
            continue  # those rows are in this build again and are resolved afresh
        if won:
            covered = (
                (obs["source"] == row["source"])
                & (obs["release"] == str(row["kept_release"]))
                & (obs["measure"] == row["measure"])
                & (obs["period_type"] == row["period_type"])
                & (obs["year"] == row["year"])
            ).any()
            if not covered:
                raise StoreError(
                    f"the store dropped {row['source']} {row['dropped_release']} {row['measure']} {row['year']} "
                    f"in favour of release {row['kept_release']}, which this build no longer covers; "
                    "rebuild from a folder holding every release (sendcast data build --source <raw folder>)"
                )
        keep_sup.append(row)

    merged_tables = {}
    for name in base.tables():
        if name in DERIVED_TABLES or name in ("observations", "supersessions"):
            continue
        if name in tables and name not in UNION_TABLES:
            continue
        merged_tables[name] = base.table(name)
    for name, t in tables.items():
        if name in merged_tables and name in UNION_TABLES:
            merged_tables[name] = pd.concat([merged_tables[name], t], ignore_index=True).drop_duplicates()
        else:
            merged_tables[name] = t
    kept_files = [f for f in base_files if (f["source"], f["release"]) not in built]
    sup = pd.DataFrame(keep_sup, columns=_empty_supersessions().columns)
    return merged, sup, merged_tables, [*kept_files, *files], kept_releases


def build_store(
    source: Path,
    dest: Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    derived: bool = True,
) -> dict[str, Any]:
    """Build a store from release files or folders into ``dest`` (atomically); return the manifest.

    ``source`` may be a folder of release folders (like ``shared/data/raw``), a single release
    folder, or a zip of one. Every importer that recognises a folder is run on it. When ``dest``
    already holds a store (for the default user store: the embedded one until it exists), the
    releases built replace the same releases in it and every other release is kept, so a build
    from one release never shrinks the store. Before anything is swapped in, the build checks
    the destination (:func:`check_destination`), that no source file is a link, that every
    recognised publication gave rows, that no release is given twice with different figures,
    and that councils reconcile with England (:func:`check_reconciliation`). Nothing in
    ``dest`` changes unless every importer and every check succeeds; a second build of the same
    store at once fails (:func:`build_lock`); leftovers of killed builds are removed first.
    """
    dest = check_destination(Path(dest) if dest else USER_DIR)
    say = progress or (lambda _m: None)
    source = Path(source).expanduser()
    if not source.exists():
        raise StoreError(f"{source}: no such folder or file")
    source = source.resolve()
    with build_lock(dest):
        for p in clean_leftovers(dest):
            say(f"removed the leftovers of an interrupted build: {p}")
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}{BUILD_PREFIX}{os.getpid()}-", dir=dest.parent))
        try:
            manifest = _build_into(source, dest, work, say=say, derived=derived)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return manifest


def _build_into(source: Path, dest: Path, work: Path, *, say: Callable[[str], None], derived: bool) -> dict[str, Any]:
    results: list[ImportResult] = []
    origins: list[str] = []
    with _unpacked(source, work / "source") as src:
        refuse_symlinks(src)
        folders = _release_folders(src)
        mods = importers()
        unrecognised: list[str] = []
        for folder in folders:
            matched = [m for m in mods if m.detect(folder)]
            if not matched:
                unrecognised.append(folder.name)
            for m in matched:
                say(f"importing {folder.name} with {m.__name__.rsplit('.', 1)[-1]}")
                results.append(m.load(folder))
                origins.append(folder.name)
        if not results:
            raise StoreError(f"{source}: no importer recognised any release in it")
        check_results(results, origins)
        obs = concat_observations(r.observations.assign(_origin=i) for i, r in enumerate(results))
        if "_origin" in obs.columns:
            obs = check_conflicts(obs, origins)
        tables: dict[str, pd.DataFrame] = {}
        for r in results:
            for name, t in r.tables.items():
                tables[name] = pd.concat([tables[name], t], ignore_index=True) if name in tables else t
        for name in UNION_TABLES & set(tables):
            tables[name] = tables[name].drop_duplicates().reset_index(drop=True)
        files = [
            {"source": r.source, "release": r.release, "file": f.name, "sha256": _sha256(f), "bytes": f.stat().st_size}
            for r in results
            for f in r.files
        ]
        notes = [n for r in results for n in r.notes]

    base = _base_store(dest)
    kept: list[list[str]] = []
    old_sup = _empty_supersessions()
    built = {(r.source, r.release) for r in results}
    if base is not None and not {tuple(x) for x in base.manifest.get("releases", [])} <= built:
        obs, old_sup, tables, files, kept = merge_with_base(base, results, obs, tables, files)
        if kept:
            say(f"kept {len(kept)} releases of the store at {base.path} not in --source")
    obs, sup = resolve_releases(obs)
    if len(old_sup):
        sup = pd.concat([old_sup, sup], ignore_index=True)

    if derived:
        say("harmonising series on current council geography")
        from sendcast.harmonise.build import derived_tables

        try:
            tables.update(derived_tables(obs, tables))
        except (ValueError, KeyError) as exc:
            raise StoreError(f"cannot derive the analysis tables: {exc}") from None
        check_reconciliation(tables["reconciliation"])

    releases = sorted({(r.source, r.release) for r in results} | {(a, b) for a, b in kept})
    manifest: dict[str, Any] = {
        "sendcast_version": __version__,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(source),
        "attribution": ATTRIBUTION,
        "releases": releases,
        "files": files,
        "periods": _periods(obs),
        "rows": int(len(obs)),
        "tables": sorted(["observations", "supersessions", *tables]),
        "unrecognised_folders": unrecognised,
        "kept_releases": kept,
        "notes": notes,
    }
    write_store(dest, obs, sup, tables, manifest, work=work)
    return manifest


def _periods(obs: pd.DataFrame) -> list[dict[str, Any]]:
    if obs.empty:
        return []
    g = obs.groupby(["source", "release", "period_type"])
    out = g.agg(first=("year", "min"), last=("year", "max"), rows=("year", "size")).reset_index()
    return [{str(k): v for k, v in r.items()} for r in out.to_dict("records")]


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or file system cannot, so the caller can fall back."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def swap_in(new: Path, dest: Path, trash: Path) -> None:
    """Put folder ``new`` at ``dest`` in one step; the previous ``dest`` (if any) ends at ``trash``.

    A new ``dest`` is one rename. An existing one is exchanged with ``new`` atomically, so a
    reader sees the old store or the new one, never no store; where the system cannot exchange,
    two renames are the fallback (the build lock keeps other builds out meanwhile).
    """
    if not dest.exists():
        os.rename(new, dest)
        return
    if _exchange(new, dest):
        os.rename(new, trash)  # ``new`` now names the old store
        return
    os.rename(dest, trash)
    os.rename(new, dest)


def write_store(
    dest: Path,
    observations: pd.DataFrame,
    supersessions: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
    *,
    work: Path | None = None,
) -> None:
    """Write a store folder atomically: build it in a temporary folder beside ``dest`` (or in
    ``work``, itself beside ``dest``), check it, then swap it in with :func:`swap_in`."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    own_work = work is None
    work = work or Path(tempfile.mkdtemp(prefix=f".{dest.name}{BUILD_PREFIX}{os.getpid()}-", dir=dest.parent))
    tmp = work / "store"
    tmp.mkdir()
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
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; the store is readable like any package data
        swap_in(tmp, dest, work / "previous")
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


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
