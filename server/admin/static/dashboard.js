// The dashboard's charts (Chart.js, vendored). The numbers come from the JSON block
// #dashboard-data that the server wrote (no inline script: the CSP forbids it); the same
// numbers are in the tables below the charts.
(function () {
  "use strict";

  var COLOURS = {
    discovered: "#1d5fa8",
    registered: "#6c8ebf",
    closed: "#1e7a3c",
    overdue: "#b42318",
    on_time_rate: "#9a5b00",
    closure_rate: "#0b6b66"
  };

  function bar(label, data, key) {
    return { type: "bar", label: label, data: data, backgroundColor: COLOURS[key], yAxisID: "y" };
  }

  function line(label, data, key) {
    return {
      type: "line", label: label, data: data, borderColor: COLOURS[key],
      backgroundColor: COLOURS[key], yAxisID: "pct", spanGaps: true, tension: 0.2
    };
  }

  function scales(d, withCounts, withPercent, horizontal) {
    var s = {};
    if (withCounts) {
      s[horizontal ? "x" : "y"] = {
        beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: d.count_axis }
      };
    }
    if (withPercent) {
      s.pct = {
        position: withCounts ? "right" : "left", min: 0, max: 100,
        grid: { drawOnChartArea: !withCounts }, title: { display: true, text: d.percent_axis }
      };
    }
    return s;
  }

  function build(canvas, d) {
    var L = d.labels, kind = canvas.dataset.chart, config;
    if (kind === "month") {
      var m = d.month;
      config = {
        data: {
          labels: m.labels,
          datasets: [
            bar(L.discovered, m.discovered, "discovered"),
            bar(L.registered, m.registered, "registered"),
            bar(L.closed, m.closed, "closed"),
            line(L.on_time_rate, m.on_time_rate, "on_time_rate"),
            line(L.closure_rate, m.closure_rate, "closure_rate")
          ]
        },
        options: { scales: scales(d, true, true, false) }
      };
    } else if (kind === "category" || kind === "area") {
      var c = d[kind];
      config = {
        data: {
          labels: c.labels,
          datasets: [bar(L.discovered, c.discovered, "discovered"), bar(L.overdue, c.overdue, "overdue")]
        },
        options: { indexAxis: "y", scales: scales(d, true, false, true) }
      };
      // Long category names are shortened on the axis; the tooltip has the whole name.
      config.options.scales.y = {
        ticks: {
          callback: function (value) {
            var label = String(this.getLabelForValue(value));
            return label.length > 16 ? label.slice(0, 15) + "…" : label;
          }
        }
      };
    } else if (kind === "department") {
      var p = d.department;
      var onTime = bar(L.on_time_rate, p.on_time_rate, "on_time_rate");
      var closure = bar(L.closure_rate, p.closure_rate, "closure_rate");
      onTime.yAxisID = closure.yAxisID = "pct";
      config = {
        data: { labels: p.labels, datasets: [onTime, closure] },
        options: { scales: scales(d, false, true, false) }
      };
    } else {
      return;
    }
    config.type = "bar";
    config.options.animation = false; // figures, not a show; also steadier screenshots
    config.options.maintainAspectRatio = false;
    config.options.responsive = true;
    config.options.plugins = { legend: { position: "bottom" } };
    new window.Chart(canvas, config);
  }

  function start() {
    var block = document.getElementById("dashboard-data");
    if (!block || !window.Chart) return;
    var data = JSON.parse(block.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      build(canvas, data);
    });
  }

  // Custom dates switch the period to "custom"; a preset clears the dates.
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    var form = el && el.closest ? el.closest("#dashboard-filters") : null;
    if (!form) return;
    if (el.hasAttribute("data-custom-date")) {
      form.querySelector("[data-period-select]").value = "custom";
    } else if (el.hasAttribute("data-period-select") && el.value !== "custom") {
      form.querySelectorAll("[data-custom-date]").forEach(function (d) { d.value = ""; });
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
