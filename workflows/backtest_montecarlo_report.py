"""The Monte Carlo report: percentile bands of equity and the distribution tables, one HTML file."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from workflows.backtest_montecarlo import PERCENTILES
from workflows.backtest_report import STYLE, _dates, _table

BAND_COLORS = {(5, 95): "rgba(31,119,180,0.15)", (25, 75): "rgba(31,119,180,0.35)"}


def build_figure(result: dict) -> go.Figure:
    """Equity over time: the 5–95 and 25–75 percentile bands around the median path."""
    bands = result["bands"]
    x = _dates(np.asarray(bands["ts"], dtype=np.int64))
    figure = go.Figure()
    for (low, high), color in BAND_COLORS.items():
        figure.add_trace(
            go.Scatter(x=x, y=bands[str(low)], mode="lines", line={"width": 0}, showlegend=False)
        )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=bands[str(high)],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=color,
                name=f"p{low}–p{high}",
            )
        )
    figure.add_trace(
        go.Scatter(x=x, y=bands["50"], mode="lines", name="median", line={"color": "#1f77b4"})
    )
    figure.update_layout(
        height=460,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        yaxis_title="equity (USDT)",
        hovermode="x unified",
    )
    return figure


def render(result: dict, config_rows: list[tuple[str, str]]) -> str:
    """The page as one string (plotly inlined, nothing fetched)."""
    chart = build_figure(result).to_html(
        full_html=False, include_plotlyjs=False, div_id="bands", config={"displaylogo": False}
    )
    head = ("percentile", "return %", "max drawdown %")
    rows = [
        (f"p{q}", f"{result['return_pct'][q]:.2f}", f"{result['max_drawdown_pct'][q]:.2f}")
        for q in PERCENTILES
    ]
    table = "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
    table += "".join(
        "<tr>" + "".join(f"<td class=n>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    table += "</table>"
    probability = result["liquidation_probability"] * 100
    seeds = ", ".join(str(s) for s in result["path_seeds"][:20])
    more = "…" if len(result["path_seeds"]) > 20 else ""
    title = f"Monte Carlo: {result['paths']} paths"
    return "\n".join(
        [
            "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
            f"<title>{html.escape(title)}</title><style>{STYLE}</style>",
            f"<script>{get_plotlyjs()}</script></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p id=liquidation-probability>Probability of at least one liquidation: "
            f"<b>{probability:.1f} %</b> ({result['paths']} paths, block "
            f"{result['block']} candles, seed {result['seed']})</p>",
            "<div class=grid><div><h2>Distribution</h2>",
            table,
            "</div><div><h2>Configuration</h2>",
            _table(config_rows),
            "</div></div><h2>Equity percentile bands</h2>",
            chart,
            f"<p>Path seeds: {html.escape(seeds)}{more}</p>",
            "</body></html>",
        ]
    )


def write_report(result: dict, config_rows: list[tuple[str, str]], path: str | Path) -> Path:
    """Write the report file; its path."""
    path = Path(path)
    path.write_text(render(result, config_rows), encoding="utf-8")
    return path
