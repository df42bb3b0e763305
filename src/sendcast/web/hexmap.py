"""The England hex map: one equal hexagon per current council, drawn as SVG on the server (so
it works without JavaScript and every hexagon is a link to its council).

The layout is Open Innovations' upper-tier hexmap (``hexmap/``, MIT, see its PROVENANCE.md),
with the changes in ``hexmap/changes.yaml`` for the four councils it predates.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

HEX_DIR = Path(__file__).resolve().parent / "hexmap"
LAYOUT_FILE = HEX_DIR / "uk-upper-tier-local-authorities.hexjson"
CHANGES_FILE = HEX_DIR / "changes.yaml"
SIZE = 11.0  # hexagon radius in SVG units
# colour-blind safe sequential steps (light to dark), one per fifth of councils
STEPS = ("#f0f9e8", "#bae4bc", "#7bccc4", "#43a2ca", "#0868ac")
NO_DATA = "#e0e0e0"


@dataclass(frozen=True)
class Hex:
    code: str
    q: int
    r: int


@lru_cache(maxsize=1)
def layout() -> dict[str, Hex]:
    """Hexagon of every council code: the published layout with :data:`CHANGES_FILE` applied.

    Raises ValueError when the changes leave two councils on one hexagon."""
    raw = json.loads(LAYOUT_FILE.read_text(encoding="utf-8"))
    if raw.get("layout") != "odd-r":
        raise ValueError(f"{LAYOUT_FILE}: expected an odd-r layout")
    hexes = {code: Hex(code, int(h["q"]), int(h["r"])) for code, h in raw["hexes"].items()}
    changes = yaml.safe_load(CHANGES_FILE.read_text(encoding="utf-8"))
    for code in changes.get("remove", []):
        hexes.pop(code, None)
    for p in changes.get("place", []):
        hexes[str(p["code"])] = Hex(str(p["code"]), int(p["q"]), int(p["r"]))
    seen: dict[tuple[int, int], str] = {}
    for h in hexes.values():
        if (h.q, h.r) in seen:
            raise ValueError(f"{CHANGES_FILE}: {h.code} and {seen[(h.q, h.r)]} share hexagon ({h.q}, {h.r})")
        seen[(h.q, h.r)] = h.code
    return hexes


def centre(h: Hex, max_r: int) -> tuple[float, float]:
    """SVG centre of a hexagon (pointy-top; odd rows shifted half a hexagon east; rows
    counted from the south, so row ``max_r`` is at the top)."""
    w = math.sqrt(3) * SIZE
    x = w * (h.q + (0.5 if h.r % 2 else 0.0)) + w
    y = 1.5 * SIZE * (max_r - h.r) + SIZE * 1.2
    return x, y


def points(cx: float, cy: float) -> str:
    """The six corners of a pointy-top hexagon as an SVG ``points`` string."""
    pts = []
    for i in range(6):
        a = math.radians(60 * i - 30)
        pts.append(f"{cx + SIZE * 0.96 * math.cos(a):.1f},{cy + SIZE * 0.96 * math.sin(a):.1f}")
    return " ".join(pts)


def bins(values: list[float]) -> list[float]:
    """Edges of five equal-count groups of ``values`` (quintiles; fewer when values repeat)."""
    v = sorted(x for x in values if not math.isnan(x))
    if not v:
        return []
    edges = [v[min(len(v) - 1, int(round(i * (len(v) - 1) / 5)))] for i in range(6)]
    out = [edges[0]]
    for e in edges[1:]:
        if e > out[-1]:
            out.append(e)
    return out if len(out) > 1 else [v[0], v[0]]


def colour(value: float | None, edges: list[float]) -> str:
    if value is None or math.isnan(value) or not edges:
        return NO_DATA
    n = len(edges) - 1
    for i in range(n):
        if value <= edges[i + 1]:
            return STEPS[round(i * (len(STEPS) - 1) / max(n - 1, 1))]
    return STEPS[-1]


def legend(edges: list[float], fmt: str = "{:,.1f}") -> list[tuple[str, str]]:
    """(colour, 'from to') for each group."""
    n = len(edges) - 1
    out = []
    for i in range(n):
        c = STEPS[round(i * (len(STEPS) - 1) / max(n - 1, 1))]
        out.append((c, f"{fmt.format(edges[i])} to {fmt.format(edges[i + 1])}"))
    return out


def svg_cells(codes: list[str]) -> tuple[list[dict[str, object]], float, float]:
    """Positions of the hexagons of ``codes`` (those without one are left out) and the SVG
    width and height."""
    lay = layout()
    hs = [lay[c] for c in codes if c in lay]
    if not hs:
        return [], 0.0, 0.0
    max_r = max(h.r for h in hs)
    cells = []
    for h in hs:
        cx, cy = centre(h, max_r)
        cells.append({"code": h.code, "cx": cx, "cy": cy, "points": points(cx, cy)})
    width = max(float(c["cx"]) for c in cells) + 2 * SIZE  # type: ignore[arg-type]
    height = max(float(c["cy"]) for c in cells) + 2 * SIZE  # type: ignore[arg-type]
    return cells, width, height
