// Home's chart of tickets opened and closed per day (templates/dictadmin/home.html).
// The figures come from the server as JSON in a <script type="application/json"> block,
// which no browser runs; Chart.js (vendored: static/vendor/chart.js) draws them on the
// canvas. No text of the page is read as HTML. Without JavaScript, or if Chart.js is
// missing, the page's table holds the same figures.
document.addEventListener('DOMContentLoaded', function () {
  var data = document.getElementById('tickets-per-day-data');
  var canvas = document.getElementById('tickets-per-day-chart');
  if (!data || !canvas || typeof window.Chart === 'undefined') { return; }
  var figures = JSON.parse(data.textContent);
  // Dark enough for 3:1 against the white card (WCAG 1.4.11), and told apart by shape
  // too (bars, a dashed line with triangles), not by colour alone.
  var OPENED = '#1f5fa8';
  var CLOSED = '#a34700';
  var TEXT = '#495057';
  var reduced = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  new window.Chart(canvas, {
    data: {
      // 2026-03-09 reads 03-09 under its bar; the tooltip gives the whole date.
      labels: figures.days.map(function (day) { return day.slice(5); }),
      datasets: [
        {type: 'bar', label: figures.labels.opened, data: figures.opened,
         backgroundColor: OPENED, borderColor: OPENED, order: 2},
        {type: 'line', label: figures.labels.closed, data: figures.closed,
         borderColor: CLOSED, backgroundColor: CLOSED, borderDash: [6, 3],
         pointStyle: 'triangle', pointRadius: 4, order: 1}
      ]
    },
    options: {
      animation: reduced ? false : {duration: 300},
      aspectRatio: 2.6,
      color: TEXT,
      interaction: {mode: 'index', intersect: false},
      scales: {
        x: {ticks: {color: TEXT, maxRotation: 0, autoSkipPadding: 8}},
        y: {beginAtZero: true, ticks: {color: TEXT, precision: 0}}
      },
      plugins: {
        // Opened, then Closed (the line is drawn over the bars, which would list it first).
        legend: {labels: {color: TEXT, usePointStyle: true, sort: function (a, b) {
          return a.datasetIndex - b.datasetIndex;
        }}},
        tooltip: {callbacks: {title: function (items) {
          return items.length ? figures.days[items[0].dataIndex] : '';
        }}}
      }
    }
  });
  canvas.dataset.drawn = '1';
});
