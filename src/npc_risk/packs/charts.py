"""The pack's charts: matplotlib drawn to inline SVG (no files, no fonts fetched, no JavaScript).

Every chart takes rows of the tidy figures table (already disclosure-controlled: a withheld value
is None and is simply not drawn) and returns an SVG string. Colours follow the NHS identity
palette; significance is shown by marker shape and a word as well as colour (never red/green
alone): NHS Blue for this area, dark grey for others, orange triangles up / blue triangles down
for significantly higher / lower.
"""

from __future__ import annotations

import functools
import io

import matplotlib

matplotlib.use("svg")  # a renderer with no display; set before pyplot is imported
import matplotlib.pyplot as plt

from npc_risk.packs import methods

NHS_BLUE, NHS_DARK_BLUE, NHS_DARK_GREY, NHS_MID_GREY, NHS_PALE_GREY = (
    "#005EB8", "#003087", "#425563", "#768692", "#E8EDEE")
NHS_ORANGE, NHS_AQUA_GREEN, NHS_WARM_YELLOW = "#ED8B00", "#00A499", "#FFB81C"
HIGHER, LOWER = NHS_ORANGE, NHS_DARK_BLUE

plt.rcParams.update({
    "font.family": "DejaVu Sans", "font.size": 9, "svg.fonttype": "none", "svg.hashsalt": "npc-risk",
    "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": NHS_DARK_GREY,
    "axes.labelcolor": NHS_DARK_GREY, "xtick.color": NHS_DARK_GREY, "ytick.color": NHS_DARK_GREY,
})


CHAR_INCHES = 0.062  # width of one 8-9 pt DejaVu Sans character, for the label margins


def _margins(fig, labels, *, bottom: float = 0.55, top: float = 0.3, right: float = 0.97,
             hspace: float | None = None) -> None:
    """Room for the y tick labels and the axis title, set by hand: matplotlib's "tight" bounding
    box draws every chart twice, and the packs draw hundreds of charts (about 40 % of their time)."""
    width, height = fig.get_size_inches()
    left = (0.35 + CHAR_INCHES * max((len(str(label)) for label in labels), default=2)) / width
    fig.subplots_adjust(left=min(left, 0.6), right=right, bottom=bottom / height, top=1 - top / height,
                        **({"hspace": hspace} if hspace is not None else {}))


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: inlined in HTML


def pyramid(area: dict[str, float | None], city: dict[str, float | None], bands: list[str]) -> str:
    """Population pyramid: % of the area's people in each band and sex (bars), the city's shape
    as an outline. Keys `"<band>|female"` / `"<band>|male"`; a withheld cell is not drawn."""
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    y = range(len(bands))
    for sex, sign, colour in (("male", -1, NHS_DARK_BLUE), ("female", 1, NHS_BLUE)):
        values = [area.get(f"{b}|{sex}") for b in bands]
        ax.barh([i for i, v in zip(y, values, strict=True) if v is not None],
                [sign * v for v in values if v is not None], color=colour, height=0.85,
                label=f"{sex.capitalize()} (this area)")
        outline = [sign * (city.get(f"{b}|{sex}") or 0) for b in bands]
        ax.step(outline, [i for i in y], where="mid", color=NHS_WARM_YELLOW, linewidth=1.6,
                label="Whole city" if sex == "male" else None)
    ax.set_yticks(list(y), bands)
    ax.set_xlabel("% of registered population (males left, females right)")
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [f"{abs(t):g}" for t in ticks])
    ax.axvline(0, color=NHS_DARK_GREY, linewidth=0.6)
    ax.legend(frameon=False, loc="upper right", fontsize=7)
    _margins(fig, bands)
    return _svg(fig)


FUNNEL_POINTS = 40


@functools.lru_cache(maxsize=4096)
def _ratio_limits(expected: float, confidence: float) -> tuple[float, float]:
    """The funnel lines at one x (every pack of a run draws the same lines: solved once)."""
    return methods.ratio_funnel(expected, confidence=confidence)


def funnel(points: list[dict], highlight: str, *, label: str) -> str:
    """Funnel plot of an indicator's ISR (y, 100 = as expected) against expected events (x) for
    every neighbourhood, with 95 % and 99.8 % limits; `highlight` is this neighbourhood."""
    shown = [p for p in points if p["value"] is not None and p["expected"]]
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    if shown:
        top = max(p["expected"] for p in shown) * 1.1
        low = max(min(p["expected"] for p in shown) * 0.5, 0.5)
        xs = [low + (top - low) * i / (FUNNEL_POINTS - 1) for i in range(FUNNEL_POINTS)]
        for confidence, style in ((0.95, "--"), (0.998, "-")):
            lines = [_ratio_limits(round(x, 3), confidence) for x in xs]
            name = f"{confidence:.1%} limits".replace(".0%", "%")
            ax.plot(xs, [lo for lo, _ in lines], style, color=NHS_MID_GREY, linewidth=1, label=name)
            ax.plot(xs, [hi for _, hi in lines], style, color=NHS_MID_GREY, linewidth=1)
        ax.axhline(100, color=NHS_DARK_GREY, linewidth=0.8)
        for p in shown:
            mine = p["area"] == highlight
            ax.scatter(p["expected"], p["value"], s=70 if mine else 22, zorder=3,
                       color=NHS_BLUE if mine else NHS_DARK_GREY, marker="D" if mine else "o",
                       label="This neighbourhood" if mine else None)
        ax.set_ylim(bottom=0)
    ax.set_xlabel("Expected events (at the city's age-sex rates)")
    ax.set_ylabel("Ratio to expected (100 = city)")
    ax.set_title(label, fontsize=9, loc="left")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    _margins(fig, ["1000"], top=0.35)
    return _svg(fig)


def spine(rows: list[dict], ranges: dict[str, tuple[float, float, float, float]]) -> str:
    """Spine chart of ISRs: for each indicator the range over neighbourhoods (pale bar), the
    25th-75th percentiles (darker band), 100 (the city) as the spine, and this neighbourhood as a
    marker whose shape says higher / similar / lower."""
    rows = [r for r in rows if r["indicator"] in ranges]
    fig, ax = plt.subplots(figsize=(7.6, 0.3 * len(rows) + 0.9))
    for i, r in enumerate(rows):
        lo, q1, q3, hi = ranges[r["indicator"]]
        ax.plot([lo, hi], [i, i], color=NHS_PALE_GREY, linewidth=7, solid_capstyle="butt")
        ax.plot([q1, q3], [i, i], color=NHS_MID_GREY, linewidth=7, solid_capstyle="butt")
        if r["value"] is not None:
            sig = r["significance"]
            marker, colour = {"higher": ("^", HIGHER), "lower": ("v", LOWER)}.get(sig, ("o", "white"))
            ax.scatter(r["value"], i, marker=marker, s=55, zorder=3, color=colour, edgecolors=NHS_DARK_GREY)
    ax.axvline(100, color=NHS_DARK_GREY, linewidth=1)
    ax.set_yticks(range(len(rows)), [r["label"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("Ratio to expected, 100 = city: ▲ higher, ▼ lower, ○ similar")
    _margins(fig, [r["label"] for r in rows], bottom=0.5, top=0.15, right=0.94)
    return _svg(fig)


def paired_bars(panels: list[tuple[str, list[str], list[float | None], list[float | None]]], *,
                labels: tuple[str, str], xlabel: str) -> str:
    """Two series of % side by side per group (e.g. the cohort's share vs the share of need), one
    panel per (title, groups, first, second), all in one figure (one render for the lot)."""
    sizes = [len(groups) for _, groups, _, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(5.6, 0.3 * sum(sizes) + 0.75 * len(panels)),
                             gridspec_kw={"height_ratios": [max(n, 1) for n in sizes]}, squeeze=False)
    height = 0.38
    for ax, (title, groups, first, second) in zip(axes[:, 0], panels, strict=True):
        for offset, values, colour, label in ((-height / 2, first, NHS_BLUE, labels[0]),
                                              (height / 2, second, NHS_WARM_YELLOW, labels[1])):
            ys = [i + offset for i, v in enumerate(values) if v is not None]
            ax.barh(ys, [v for v in values if v is not None], height=height, color=colour, label=label)
        ax.set_yticks(range(len(groups)), groups)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9, loc="left")
    axes[0, 0].legend(frameon=False, fontsize=8, loc="lower right")
    axes[-1, 0].set_xlabel(xlabel)
    _margins(fig, [g for _, groups, _, _ in panels for g in groups], top=0.3, hspace=0.6)
    return _svg(fig)


def bars(groups: list[str], values: list[float | None], *, xlabel: str, colour: str = NHS_BLUE) -> str:
    """One series of horizontal bars (a withheld value leaves its bar out)."""
    fig, ax = plt.subplots(figsize=(5.6, 0.3 * len(groups) + 0.9))
    ax.barh([i for i, v in enumerate(values) if v is not None], [v for v in values if v is not None],
            color=colour, height=0.7)
    ax.set_yticks(range(len(groups)), groups)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    _margins(fig, groups)
    return _svg(fig)
