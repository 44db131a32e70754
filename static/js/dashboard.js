// Draws every <canvas data-chart="ID"> from the JSON in <script id="ID">: {labels, values, label},
// optionally a second series {extra: {values, label}}. data-chart-type: "bar" (horizontal), "column", "line".
// The same numbers are always in a table next to the chart, for screen readers and for copying.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var horizontal = canvas.dataset.chartType === "bar";
    var datasets = [{ label: data.label, data: data.values, backgroundColor: "rgba(13, 110, 253, 0.6)", borderColor: "rgb(13, 110, 253)" }];
    if (data.extra) {
      datasets.push({ label: data.extra.label, data: data.extra.values, backgroundColor: "rgba(108, 117, 125, 0.45)", borderColor: "rgb(108, 117, 125)" });
    }
    new Chart(canvas, {
      type: canvas.dataset.chartType === "line" ? "line" : "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: !!data.extra } },
        scales: horizontal ? { x: { beginAtZero: true, suggestedMax: data.percent ? 100 : undefined } } : { y: { beginAtZero: true } },
      },
    });
  });
})();
