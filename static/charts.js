// dcabot charts: draws the dashboard's plotly charts from the JSON endpoints' data.
// Every chart has an empty state: when there is nothing to draw, the element says so in words.
(function () {
  "use strict";

  var GREEN = "#1f7a3d";
  var RED = "#b3261e";
  var BLUE = "#1f5fbf";
  var GREY = "#5c6675";
  var AMBER = "#c77700";
  var PALETTE = [BLUE, "#8c564b", "#9467bd", "#17becf", "#e377c2", "#7f7f7f"];
  var CONFIG = { displaylogo: false, displayModeBar: false, responsive: true };

  function layout(extra) {
    var base = {
      margin: { l: 56, r: 16, t: 8, b: 36 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, -apple-system, Segoe UI, sans-serif", size: 12, color: "#1d2430" },
      hovermode: "x unified",
      showlegend: false,
      xaxis: { automargin: true },
      yaxis: { automargin: true, zeroline: true }
    };
    Object.keys(extra || {}).forEach(function (key) { base[key] = extra[key]; });
    return base;
  }

  function empty(el) {
    el.textContent = el.getAttribute("data-empty") || "Nothing to show yet.";
    el.classList.add("dash-chart-empty");
    el.setAttribute("data-drawn", "empty");
  }

  function plot(el, traces, extra) {
    el.classList.remove("dash-chart-empty");
    el.textContent = "";
    window.Plotly.newPlot(el, traces, layout(extra), CONFIG).then(function () {
      el.setAttribute("data-drawn", "chart");
    });
  }

  function line(x, y, name, color, extra) {
    var trace = { x: x, y: y, name: name, type: "scatter", mode: "lines", line: { color: color, width: 2 } };
    Object.keys(extra || {}).forEach(function (key) { trace[key] = extra[key]; });
    return trace;
  }

  function hline(x, value, name, color) {
    return line([x[0], x[x.length - 1]], [value, value], name, color,
      { line: { color: color, width: 1, dash: "dash" }, hoverinfo: "skip" });
  }

  var DRAW = {
    equity: function (el, data) {
      var s = data.equity;
      if (!s || !s.x.length) { return empty(el); }
      plot(el, [line(s.x, s.equity, "equity", BLUE), line(s.x, s.balance, "balance", GREY,
        { line: { color: GREY, width: 1, dash: "dot" } })], { showlegend: true, legend: { orientation: "h" } });
    },
    daily_pnl: function (el, data) {
      var s = data.daily_pnl;
      if (!s || !s.x.length) { return empty(el); }
      plot(el, [{ x: s.x, y: s.net, type: "bar", name: "net PnL",
        marker: { color: s.net.map(function (v) { return v < 0 ? RED : GREEN; }) } }]);
    },
    drawdown: function (el, data) {
      var s = data.drawdown;
      if (!s || !s.x.length) { return empty(el); }
      plot(el, [line(s.x, s.pct, "drawdown %", RED, { fill: "tozeroy" })], { yaxis: { ticksuffix: " %" } });
    },
    margin: function (el, data) {
      var names = Object.keys(data.margin || {});
      if (!names.length) { return empty(el); }
      plot(el, names.map(function (name, i) {
        var s = data.margin[name];
        return line(s.x, s.margin, name, PALETTE[i % PALETTE.length], { line: { shape: "hv", width: 2, color: PALETTE[i % PALETTE.length] } });
      }), { showlegend: names.length > 1 });
    },
    margin_level: function (el, data) {
      var names = Object.keys(data.margin || {}).filter(function (name) {
        return data.margin[name].level.some(function (v) { return v !== null; });
      });
      if (!names.length) { return empty(el); }
      var traces = names.map(function (name, i) {
        var s = data.margin[name];
        return line(s.x, s.level, name, PALETTE[i % PALETTE.length], { mode: "lines+markers", connectgaps: false });
      });
      var x = data.margin[names[0]].x;
      traces.push(hline(x, 2, "amber: 2", AMBER), hline(x, 1.5, "red: 1.5", RED), hline(x, 1, "liquidation: 1", "#000"));
      plot(el, traces, { yaxis: { rangemode: "tozero" } });
    },
    symbols: function (el, data) {
      var rows = data.symbols || [];
      if (!rows.length) { return empty(el); }
      plot(el, [{ type: "bar", x: rows.map(function (r) { return r.label; }), y: rows.map(function (r) { return r.net; }),
        marker: { color: rows.map(function (r) { return r.net < 0 ? RED : GREEN; }) } }], { hovermode: "closest" });
    },
    ladder: function (el, data) {
      if (!data.open || !data.fills.length) { return empty(el); }
      var x = data.fills.map(function (f) { return f.time; });
      var traces = [{ x: x, y: data.fills.map(function (f) { return f.price; }), type: "scatter", mode: "markers",
        name: "fills", text: data.fills.map(function (f) { return f.action + " " + f.qty; }),
        marker: { size: data.fills.map(function (f) { return 6 + Math.min(14, 3 * Math.sqrt(f.qty / data.fills[0].qty)); }),
          color: data.fills.map(function (f) { return f.action === "OPEN" || f.action === "ADD" ? BLUE : AMBER; }) } }];
      var colors = [GREY, BLUE, AMBER, RED];
      data.levels.forEach(function (level, i) {
        traces.push(line([x[0], x[x.length - 1]], [level.price, level.price], level.label, colors[i % colors.length],
          { line: { color: colors[i % colors.length], width: 1, dash: i ? "dash" : "solid" } }));
      });
      plot(el, traces, { showlegend: true, legend: { orientation: "h" }, hovermode: "closest" });
    }
  };

  window.dcaCharts = {
    draw: function (el, name, data) {
      var draw = DRAW[name];
      if (!draw || !window.Plotly) { return empty(el); }
      draw(el, data);
    },
    fail: function (el) {
      el.textContent = "The chart could not be loaded; reload the page to try again.";
      el.classList.add("dash-chart-empty");
      el.setAttribute("data-drawn", "failed");
    },
    empty: empty
  };
})();
