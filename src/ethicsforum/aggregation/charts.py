"""Geometry for the summary's server-rendered SVG charts; templates only draw what is here.

Each chart is paired on the page with a table of the same numbers, so the picture is never
the only way to read them. Colours come from CSS classes (site.css), which switch for the
dark debate screen and for print; numbers are printed on the marks so the charts still read
in greyscale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from string import ascii_uppercase

from ethicsforum.aggregation.service import Summary

WIDTH = 640


def letters(option_keys: list[str]) -> dict[str, str]:
    """Short marks (A, B, C …) for options, as the charts have no room for their labels."""
    return {key: ascii_uppercase[i % 26] for i, key in enumerate(option_keys)}


@dataclass(frozen=True)
class Bar:
    key: str
    letter: str
    label: str
    count: int | None  # None: withheld (the comparison's small counts), drawn as "<5"
    y: float
    width: float
    label_y: float
    text_x: float


@dataclass(frozen=True)
class OptionBars:
    height: float
    bar_height: float
    x: float
    bars: list[Bar]
    total: int | None


def option_bars(
    summary: Summary,
    labels: dict[str, str],
    *,
    counts: Mapping[str, int | None] | None = None,
    total: int | None = -1,
) -> OptionBars:
    """Horizontal bars, one per option, each with its label above it.

    `counts` and `total` replace the summary's own (the comparison's, with small counts
    withheld as None: such a bar is not drawn, so its length gives nothing away).
    """
    marks = letters(summary.option_keys)
    top, row, bar_height, x = 8.0, 52.0, 24.0, 4.0
    span = WIDTH - x - 56
    shown: Mapping[str, int | None] = summary.options if counts is None else counts
    largest = max((n for n in shown.values() if n is not None), default=0) or 1
    bars = []
    for i, key in enumerate(summary.option_keys):
        count = shown.get(key, 0)
        width = span * (count or 0) / largest
        y = top + i * row + 20
        bars.append(
            Bar(
                key=key,
                letter=marks[key],
                label=labels.get(key, key),
                count=count,
                y=y,
                width=max(width, 2.0 if count else 0.0),
                label_y=y - 6,
                text_x=x + width + 8,
            )
        )
    return OptionBars(
        height=top + row * len(bars) + 4,
        bar_height=bar_height,
        x=x,
        bars=bars,
        total=summary.positions if total == -1 else total,
    )


@dataclass(frozen=True)
class HeatCell:
    framework: str
    key: str
    x: float
    y: float
    supports: int | None  # None: withheld, drawn as "<5" on a blank cell
    challenges: int | None
    supports_opacity: float
    challenges_opacity: float


@dataclass(frozen=True)
class HeatMap:
    width: float
    height: float
    label_width: float
    cell_width: float
    cell_height: float
    columns: list[tuple[str, str, float]]  # key, letter, centre x
    rows: list[tuple[str, float]]  # framework, centre y
    cells: list[HeatCell]
    largest: int


def heat_map(
    summary: Summary, *, matrix: Mapping[str, Mapping[str, Mapping[str, int | None]]] | None = None
) -> HeatMap:
    """Frameworks by options; each cell split into claims for (top) and against (bottom).

    `matrix` replaces the summary's own (the comparison's, with small counts withheld).
    """
    marks = letters(summary.option_keys)
    label_width, head, cell_height = 130.0, 28.0, 48.0
    cell_width = (WIDTH - label_width) / max(len(summary.option_keys), 1)
    shown: Mapping[str, Mapping[str, Mapping[str, int | None]]] = (
        summary.frameworks if matrix is None else matrix
    )
    frameworks = list(shown)
    largest = max(
        (
            n
            for row in shown.values()
            for cell in row.values()
            for n in cell.values()
            if n is not None
        ),
        default=0,
    )
    scale = largest or 1
    cells = []
    for r, framework in enumerate(frameworks):
        for c, key in enumerate(summary.option_keys):
            cell = shown[framework].get(key, {})
            supports, challenges = cell.get("supports", 0), cell.get("challenges", 0)
            cells.append(
                HeatCell(
                    framework=framework,
                    key=key,
                    x=label_width + c * cell_width,
                    y=head + r * cell_height,
                    supports=supports,
                    challenges=challenges,
                    # A floor keeps a single claim visible beside a cell with many.
                    supports_opacity=round(0.15 + 0.85 * supports / scale, 3) if supports else 0,
                    challenges_opacity=round(0.15 + 0.85 * challenges / scale, 3)
                    if challenges
                    else 0,
                )
            )
    return HeatMap(
        width=WIDTH,
        height=head + cell_height * len(frameworks) + 4,
        label_width=label_width,
        cell_width=cell_width,
        cell_height=cell_height,
        columns=[
            (key, marks[key], label_width + (i + 0.5) * cell_width)
            for i, key in enumerate(summary.option_keys)
        ],
        rows=[(f, head + (i + 0.5) * cell_height) for i, f in enumerate(frameworks)],
        cells=cells,
        largest=largest,
    )


@dataclass(frozen=True)
class Node:
    key: str
    letter: str
    count: int
    x: float
    y: float
    height: float


@dataclass(frozen=True)
class Band:
    source: str
    target: str
    count: int
    path: str
    changed: bool


@dataclass
class Flow:
    width: float
    height: float
    left: list[Node] = field(default_factory=list)
    right: list[Node] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    total: int = 0


def stance_flow(summary: Summary) -> Flow:
    """Initial options on the left, final on the right, a band per move sized by students."""
    marks = letters(summary.option_keys)
    total = summary.recorded
    height, gap, node_width = 320.0, 10.0, 18.0
    flow = Flow(width=WIDTH, height=height + 24, total=total)
    if not total:
        return flow
    initial = {k: sum(summary.stance_shift.get(k, {}).values()) for k in summary.option_keys}
    final = {
        k: sum(row.get(k, 0) for row in summary.stance_shift.values()) for k in summary.option_keys
    }
    used_left = [k for k in summary.option_keys if initial[k]]
    used_right = [k for k in summary.option_keys if final[k]]
    unit = (height - gap * (max(len(used_left), len(used_right)) - 1)) / total
    left_x, right_x = 70.0, WIDTH - 70.0 - node_width

    def place(keys: list[str], counts: dict[str, int], x: float) -> dict[str, Node]:
        nodes, y = {}, 12.0
        for key in keys:
            h = counts[key] * unit
            nodes[key] = Node(key, marks[key], counts[key], x, y, h)
            y += h + gap
        return nodes

    lefts = place(used_left, initial, left_x)
    rights = place(used_right, final, right_x)
    out_offset = dict.fromkeys(used_left, 0.0)
    in_offset = dict.fromkeys(used_right, 0.0)
    for a in used_left:
        for b in used_right:
            n = summary.stance_shift.get(a, {}).get(b, 0)
            if not n:
                continue
            h = n * unit
            y0 = lefts[a].y + out_offset[a]
            y1 = rights[b].y + in_offset[b]
            out_offset[a] += h
            in_offset[b] += h
            x0, x1 = left_x + node_width, right_x
            mid = (x0 + x1) / 2
            path = (
                f"M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f} "
                f"L{x1:.1f},{y1 + h:.1f} C{mid:.1f},{y1 + h:.1f} {mid:.1f},{y0 + h:.1f} "
                f"{x0:.1f},{y0 + h:.1f} Z"
            )
            flow.bands.append(Band(a, b, n, path, a != b))
    flow.left = list(lefts.values())
    flow.right = list(rights.values())
    return flow
