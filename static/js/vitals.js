/* The vitals trend on a patient summary: a small line chart drawn from the JSON the page
   carries (<script type="application/json" id="vitals-data">); the same figures are in the
   table beside it, so nothing is lost without scripts. */
(function () {
  "use strict";

  var COLOURS = ["#0b5ed7", "#b02a37", "#146c43", "#6f42c1"];

  function vitalsChart() {
    var canvas = document.getElementById("vitals-chart");
    var source = document.getElementById("vitals-data");
    if (!canvas || !source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var datasets = data.series.map(function (series, i) {
      return {label: series.label, data: series.values, borderColor: COLOURS[i % COLOURS.length],
              backgroundColor: COLOURS[i % COLOURS.length], spanGaps: true, tension: 0.2};
    });
    new window.Chart(canvas, {
      type: "line",
      data: {labels: data.labels, datasets: datasets},
      options: {responsive: true, maintainAspectRatio: false, animation: false,
                plugins: {legend: {position: "bottom"}}}
    });
  }

  document.addEventListener("DOMContentLoaded", vitalsChart);
})();
