/* Auditor pages: the activity chart and live audit progress. Data comes from the page
   (JSON in <script type="application/json">) or from the status endpoint; no inline code. */
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#198754", "#dc3545", "#fd7e14", "#6f42c1", "#20c997", "#0dcaf0",
                 "#ffc107", "#6c757d", "#d63384", "#6610f2", "#adb5bd", "#198754", "#052c65",
                 "#984c0c", "#0a3622", "#58151c"];

  function activityChart() {
    var canvas = document.getElementById("activity-chart");
    var source = document.getElementById("activity-data");
    if (!canvas || !source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var kinds = Object.keys(data.series);
    var datasets = kinds.map(function (kind, i) {
      return {label: kind, data: data.series[kind], backgroundColor: PALETTE[i % PALETTE.length]};
    });
    new window.Chart(canvas, {
      type: "bar",
      data: {labels: data.days, datasets: datasets},
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}},
        plugins: {legend: {position: "bottom"}}
      }
    });
  }

  function setField(panel, name, value) {
    var element = panel.querySelector('[data-field="' + name + '"]');
    if (!element) {
      return;
    }
    if (name === "bar") {
      element.value = value;
      element.textContent = value + "%";
    } else {
      element.textContent = value;
    }
  }

  function watchAudit(panel) {
    var url = panel.getAttribute("data-audit-status-url");
    var state = panel.getAttribute("data-audit-state");
    if (state !== "queued" && state !== "running") {
      return;
    }
    function poll() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (status) {
          setField(panel, "state", status.state);
          setField(panel, "done", status.done);
          setField(panel, "total", status.total);
          setField(panel, "bar", status.percent);
          setField(panel, "rate", status.rate === null ? "–" : status.rate);
          setField(panel, "eta", status.eta_seconds === null ? "–" : status.eta_seconds);
          panel.setAttribute("data-audit-state", status.state);
          if (status.state === "done" || status.state === "failed") {
            window.location.assign(panel.getAttribute("data-audit-job-url"));
          } else {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () {
          window.setTimeout(poll, 3000);
        });
    }
    window.setTimeout(poll, 500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    activityChart();
    document.querySelectorAll("[data-audit-status-url]").forEach(watchAudit);
  });
}());
