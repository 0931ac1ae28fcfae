"""The backtest's HTML report: one self-contained file with interactive plotly charts and tables."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from workflows.backtest_metrics import metric_lines

MAX_POINTS = 5000  # per line on a chart; long runs are decimated to this
MAX_MARKERS = 2000  # per fill kind and symbol
LAST_TRADES = 60
MARKERS = {
    "OPEN": ("triangle-up", "#2ca02c"),
    "ADD": ("triangle-down", "#1f77b4"),
    "REDUCE": ("square", "#ff7f0e"),
    "CLOSE": ("circle", "#d62728"),
    "LIQUIDATION": ("x", "#000000"),
}
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:28px}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px}
th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.notes li{color:#8a5a00}.grid{display:flex;gap:32px;flex-wrap:wrap}
"""


def decimate(x: np.ndarray, ys: list[np.ndarray], limit: int = MAX_POINTS) -> np.ndarray:
    """Indices that keep every series' minimum and maximum per bucket, at most ``limit`` points."""
    n = len(x)
    if n <= limit:
        return np.arange(n)
    buckets = max(1, limit // (2 * max(1, len(ys))) - 1)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep = [np.array([0, n - 1])]
    for y in ys:
        filled = np.where(np.isnan(y), np.nanmean(y) if np.isfinite(y).any() else 0.0, y)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            if hi > lo:
                part = filled[lo:hi]
                keep.append(np.array([lo + int(part.argmin()), lo + int(part.argmax())]))
    return np.unique(np.concatenate(keep))


def _dates(ms: np.ndarray) -> list[str]:
    """Epoch milliseconds as ISO strings plotly reads as dates."""
    return np.asarray(ms, dtype="datetime64[ms]").astype(str).tolist()


def _line(x, y, name, color=None, dash=None, width=1.2) -> go.Scatter:
    """A plain line trace (SVG, so it draws without WebGL)."""
    return go.Scatter(
        x=x, y=y, name=name, mode="lines", line={"color": color, "dash": dash, "width": width}
    )


def _price_traces(run, symbol: str) -> list[go.Scatter]:
    """Closes, the EMAs at decision times and the fills of one symbol."""
    feed = run.replay.feeds[symbol]
    series = feed.series
    start = run.curve.ts[0] if len(run.curve.ts) else 0
    rows = series.ts >= start
    ts, close = series.ts[rows] + series.interval_ms, series.close[rows]
    keep = decimate(ts, [close])
    traces = [_line(_dates(ts[keep]), close[keep], f"{symbol} close", "#555")]
    grid = run.replay.grid
    plan = feed.plan
    emas = (
        (feed.ema50, f"EMA50 ({plan.ema_interval}m)", "#9467bd"),
        (feed.ema200, f"EMA200 ({plan.ema_interval}m)", "#8c564b"),
        (feed.ema100_1h, "EMA100 (1h)", "#e377c2"),
    )
    for values, name, color in emas:
        spread = feed.grid_values(values)
        pick = decimate(grid, [spread])
        traces.append(_line(_dates(grid[pick]), spread[pick], name, color, "dot"))
    fills = [f for f in run.replay.engine.fills if f.symbol == symbol]
    for kind, (shape, color) in MARKERS.items():
        chosen = [f for f in fills if f.kind == kind]
        if not chosen:
            continue
        stride = -(-len(chosen) // MAX_MARKERS)
        shown = chosen[::stride]
        label = kind if stride == 1 else f"{kind} (every {stride}th)"
        traces.append(
            go.Scatter(
                x=_dates(np.array([f.ts_ms for f in shown])),
                y=[float(f.price) for f in shown],
                mode="markers",
                name=label,
                marker={"symbol": shape, "color": color, "size": 8},
                text=[f"{f.kind} {f.qty} @ {f.price}" for f in shown],
                hoverinfo="text+x",
            )
        )
    return traces


def build_figure(run) -> go.Figure:
    """Price panels (one per symbol), equity and balance, margin usage against the cap, drawdown."""
    symbols = run.config.symbols
    titles = [f"{s} price, EMAs and fills" for s in symbols] + [
        "Equity and wallet balance (USDT)",
        "Margin usage (% of wallet)",
        "Drawdown (%)",
    ]
    rows = len(titles)
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        subplot_titles=titles,
        row_heights=[2] * len(symbols) + [1.4, 1, 1],
    )
    for row, symbol in enumerate(symbols, start=1):
        for trace in _price_traces(run, symbol):
            fig.add_trace(trace, row=row, col=1)
    curve = run.curve
    drawdown = curve.drawdown() * 100
    usage = curve.usage * 100
    keep = decimate(curve.ts, [curve.equity, curve.wallet, usage, drawdown])
    x = _dates(curve.ts[keep])
    base = len(symbols)
    fig.add_trace(_line(x, curve.equity[keep], "equity", "#1f77b4"), row=base + 1, col=1)
    fig.add_trace(_line(x, curve.wallet[keep], "wallet balance", "#2ca02c"), row=base + 1, col=1)
    fig.add_trace(_line(x, usage[keep], "margin usage %", "#ff7f0e"), row=base + 2, col=1)
    cap = run.margin_cap()
    if cap is not None and len(x):
        fig.add_trace(
            _line([x[0], x[-1]], [cap * 100] * 2, "margin cap", "#d62728", "dash"),
            row=base + 2,
            col=1,
        )
    fig.add_trace(_line(x, drawdown[keep], "drawdown %", "#d62728"), row=base + 3, col=1)
    fig.update_layout(
        height=320 * len(symbols) + 620,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 40, "b": 30},
        hovermode="x unified",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
    )
    return fig


def _table(rows: list[tuple[str, str]], head: tuple[str, str] | None = None) -> str:
    """A two-column HTML table."""
    out = ["<table>"]
    if head:
        out.append(f"<tr><th>{html.escape(head[0])}</th><th>{html.escape(head[1])}</th></tr>")
    out += [f"<tr><th>{html.escape(k)}</th><td class=n>{html.escape(v)}</td></tr>" for k, v in rows]
    return "\n".join(out + ["</table>"])


def _config_rows(run) -> list[tuple[str, str]]:
    """The configuration as label/value rows."""
    described = run.config.describe()
    # File names only: a report may be shown to someone who should not see the server's paths.
    for key in ("data", "funding"):
        described[key] = [Path(path).name for path in described[key]]
    rows = [
        (key, json.dumps(value) if isinstance(value, dict | list) else str(value))
        for key, value in described.items()
    ]
    for symbol, plan in run.plans.items():
        rows.append(
            (
                f"{symbol} candles",
                f"data {plan.base_minutes}m, EMA50/200 on "
                f"{plan.ema_interval}m, 1h EMA100, volatility on "
                f"{plan.volatility_interval}m",
            )
        )
    return rows


def _trades_table(trades: list[dict]) -> str:
    """The last fills as an HTML table."""
    columns = ("time", "symbol", "side", "action", "qty", "price", "fee", "realised_pnl", "reason")
    out = ["<table><tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr>"]
    for trade in trades[-LAST_TRADES:]:
        out.append(
            "<tr>" + "".join(f"<td>{html.escape(str(trade[c]))}</td>" for c in columns) + "</tr>"
        )
    return "\n".join(out + ["</table>"])


def render(run) -> str:
    """The whole report page as one string (plotly's JavaScript inlined, nothing fetched)."""
    figure = build_figure(run).to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id="charts",
        config={"displaylogo": False, "responsive": True},
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in run.notes)
    title = f"Backtest {', '.join(run.config.symbols)} {run.config.side}"
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>",
        f"<script>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<ul class=notes>{notes}</ul>" if notes else "",
        "<div class=grid><div><h2>Metrics</h2>",
        _table(metric_lines(run.metrics)),
        "</div><div><h2>Configuration</h2>",
        _table(_config_rows(run)),
        "</div></div>",
        "<h2>Charts</h2>",
        figure,
        f"<h2>Last {min(LAST_TRADES, len(run.trades))} of {len(run.trades)} fills</h2>",
        _trades_table(run.trades),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(run, path: str | Path) -> Path:
    """Write the report file; its path."""
    path = Path(path)
    path.write_text(render(run), encoding="utf-8")
    return path
