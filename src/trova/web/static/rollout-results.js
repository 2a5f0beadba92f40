// Rollout results page: the time-to-publish histogram per variant (Chart.js, vendored from npm).
(() => {
  const canvas = document.getElementById("ttp-chart");
  if (!canvas || typeof Chart === "undefined") return;
  const data = JSON.parse(canvas.dataset.histogram || "{}");
  const edges = data.edges_min || [];
  if (!edges.length) return;
  const labels = edges.slice(0, -1).map((lo, i) =>
    i === edges.length - 2 ? `≥ ${lo}` : `${lo}–${edges[i + 1]}`);
  const palette = ["#0f766e", "#b54708", "#1e3a8a", "#9e1f63", "#5f6b73", "#4d7c0f"];
  const datasets = Object.entries(data.counts || {}).map(([name, counts], i) => {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    return {
      label: name,
      data: counts.map((c) => +(100 * c / total).toFixed(1)),
      backgroundColor: palette[i % palette.length],
    };
  });
  new Chart(canvas, {
    type: "bar",
    data: { labels, datasets },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { title: { display: true, text: "minutes from create_started to published" } },
        y: { title: { display: true, text: "% of published flows" }, beginAtZero: true },
      },
      plugins: { tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.parsed.y}%` } } },
    },
  });
})();
