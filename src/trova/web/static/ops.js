// Ops console: dashboard charts (Chart.js) and the annotator's keyboard shortcuts.
(function () {
  "use strict";

  // ------------------------------------------------------------ dashboard charts
  function pct(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }

  function charts() {
    var node = document.getElementById("dashboard-data");
    if (!node || typeof window.Chart === "undefined") return;
    var data = JSON.parse(node.textContent);
    var labels = data.labels.map(function (l) { return data.bucket === "hour" ? l.slice(5, 16).replace("T", " ") : l.slice(5); });
    var s = data.series;
    var base = {
      animation: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
    };
    function make(id, config) {
      var canvas = document.getElementById(id);
      if (canvas) new window.Chart(canvas, config);
    }
    function line(label, values, color, extra) {
      return Object.assign({ label: label, data: values, borderColor: color, backgroundColor: color, spanGaps: true, pointRadius: 0, borderWidth: 2 }, extra || {});
    }
    make("chart-volume", { type: "bar", data: { labels: labels, datasets: [{ label: "calls", data: s.volume, backgroundColor: "#0f766e" }] }, options: base });
    make("chart-rates", {
      type: "line",
      data: { labels: labels, datasets: [
        line("errors %", s.error_rate.map(pct), "#b42318"),
        line("timeouts %", s.timeout_rate.map(pct), "#b54708"),
        line("empty/invalid %", s.invalid_rate.map(pct), "#6941c6"),
      ] },
      options: Object.assign({}, base, { scales: { y: { beginAtZero: true, title: { display: true, text: "%" } } } }),
    });
    make("chart-latency", {
      type: "line",
      data: { labels: labels, datasets: [line("p50 ms", s.p50_ms, "#0f766e"), line("p95 ms", s.p95_ms, "#b54708")] },
      options: Object.assign({}, base, { scales: { y: { beginAtZero: true } } }),
    });
    make("chart-cost", {
      type: "bar",
      data: { labels: labels, datasets: [
        { label: "tokens in", data: s.tokens_in, backgroundColor: "#99d5cf", stack: "tokens", yAxisID: "y" },
        { label: "tokens out", data: s.tokens_out, backgroundColor: "#0f766e", stack: "tokens", yAxisID: "y" },
        line("cost $", s.cost_usd, "#1d2327", { type: "line", yAxisID: "cost" }),
      ] },
      options: Object.assign({}, base, { scales: {
        y: { stacked: true, beginAtZero: true, title: { display: true, text: "tokens" } },
        cost: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "USD" } },
      } }),
    });
    var fields = Object.keys(data.acceptance);
    make("chart-acceptance", {
      type: "bar",
      data: { labels: fields, datasets: [{ label: "published as suggested %", data: fields.map(function (f) { return pct(data.acceptance[f]); }), backgroundColor: "#0f766e" }] },
      options: Object.assign({}, base, { scales: { y: { min: 0, max: 100 } } }),
    });
    make("chart-thumbs", {
      type: "line",
      data: { labels: labels, datasets: [line("thumbs up %", s.thumbs_up_share.map(pct), "#0f766e")] },
      options: Object.assign({}, base, { scales: { y: { min: 0, max: 100 } } }),
    });
  }

  // ------------------------------------------------------------ annotator keyboard
  function annotator() {
    var form = document.getElementById("annotate-form");
    if (!form) return;
    var rows = Array.prototype.slice.call(form.querySelectorAll(".annotate-row"));
    var current = 0;
    function valueInput(row) { return row.querySelector("[name^='value_']"); }
    function select(i) {
      current = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (row, j) { row.classList.toggle("current", j === current); });
      rows[current].scrollIntoView({ block: "nearest" });
    }
    function judged(row) { return row.querySelector("input[type=radio]:checked"); }
    function mark(i, verdict) {
      var radio = rows[i].querySelector("input[value='" + verdict + "']");
      radio.checked = true;
      rows[i].classList.toggle("wrong", verdict === "wrong");
    }
    function nextUnjudged(from) {
      for (var k = from + 1; k < rows.length; k++) if (!judged(rows[k])) return k;
      return Math.min(from + 1, rows.length - 1);
    }
    function submit(action) {
      var button = form.querySelector("button[value='" + action + "']");
      if (form.requestSubmit) form.requestSubmit(button); else button.click();
    }
    rows.forEach(function (row, i) {
      row.addEventListener("click", function () { select(i); });
      row.querySelectorAll("input[type=radio]").forEach(function (radio) {
        radio.addEventListener("change", function () { row.classList.toggle("wrong", radio.value === "wrong" && radio.checked); });
      });
      if (judged(row) && judged(row).value === "wrong") row.classList.add("wrong");
    });
    select(0);
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.metaKey) return;
      var target = event.target;
      var typing = target && (target.tagName === "INPUT" && target.type === "text" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
      if (typing) {
        if (event.key === "Escape") { target.blur(); event.preventDefault(); }
        else if (event.key === "Enter" && (event.ctrlKey || target.tagName === "INPUT")) { event.preventDefault(); target.blur(); submit("save"); }
        return;
      }
      if (event.ctrlKey && event.key !== "Enter") return;
      switch (event.key) {
        case "j": case "ArrowDown": select(current + 1); break;
        case "k": case "ArrowUp": select(current - 1); break;
        case "y": case "1": mark(current, "correct"); select(nextUnjudged(current)); break;
        case "n": case "2":
          mark(current, "wrong");
          var input = valueInput(rows[current]);
          if (input) { input.focus(); if (input.select && input.tagName === "INPUT") input.select(); }
          break;
        case "a": rows.forEach(function (row, i) { if (!judged(row)) mark(i, "correct"); }); break;
        case "s": submit("skip"); break;
        case "Enter": submit("save"); break;
        default: return;
      }
      event.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { charts(); annotator(); });
})();
