// dcabot dashboards: load chart data, refresh a bot's status and follow a running backtest.
// Data comes from the page's own JSON endpoints (named in data-* attributes): no inline script.
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(url + " answered " + response.status); }
        return response.json();
      });
  }

  function utc(iso) {
    return iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "\u2014";
  }

  // Charts: each [data-chart-src] box fetches its JSON once and draws its [data-chart]s.
  document.querySelectorAll("[data-chart-src]").forEach(function (box) {
    var charts = box.querySelectorAll("[data-chart]");
    getJSON(box.getAttribute("data-chart-src")).then(function (data) {
      charts.forEach(function (el) { window.dcaCharts.draw(el, el.getAttribute("data-chart"), data); });
    }).catch(function () {
      charts.forEach(function (el) { window.dcaCharts.fail(el); });
    });
  });

  // A bot's status area polls its status.json and updates the fields in place.
  document.querySelectorAll("[data-status-src]").forEach(function (panel) {
    var url = panel.getAttribute("data-status-src");
    var seconds = parseInt(panel.getAttribute("data-poll-seconds"), 10) || 15;
    function set(name, text) {
      panel.querySelectorAll('[data-status-field="' + name + '"]').forEach(function (el) {
        el.textContent = text;
        if (name === "status") { el.className = "dash-badge dash-status-" + text; }
      });
    }
    function refresh() {
      getJSON(url).then(function (s) {
        set("status", s.status);
        set("last_run_at", utc(s.last_run_at));
        set("next_run_at", utc(s.next_run_at));
        set("last_outcome", s.last_outcome || "");
        set("last_error", s.last_error || "\u2014");
        Object.keys(s.conclusions).forEach(function (pairId) {
          panel.querySelectorAll('[data-conclusion-for="' + pairId + '"]').forEach(function (el) {
            el.textContent = s.conclusions[pairId] || "\u2014";
          });
        });
        panel.setAttribute("data-refreshed", s.checked_at);
      }).catch(function () { /* keep what is shown; the next poll tries again */ });
    }
    window.setInterval(refresh, seconds * 1000);
  });

  // A queued or running backtest: follow its progress, then show the finished page.
  document.querySelectorAll("[data-backtest-status]").forEach(function (box) {
    if (box.getAttribute("data-finished") === "true") { return; }
    var url = box.getAttribute("data-backtest-status");
    function field(name) { return box.querySelector('[data-job-field="' + name + '"]'); }
    function poll() {
      getJSON(url).then(function (job) {
        field("status").textContent = job.status;
        field("status").className = "dash-badge dash-job-" + job.status;
        field("progress").value = job.progress;
        field("message").textContent = job.message;
        if (job.finished) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      }).catch(function () { window.setTimeout(poll, 3000); });
    }
    window.setTimeout(poll, 500);
  });
})();
