// Rollout: report which fields a seller changes on the create form (field_edited events).
// Loaded by the listing form on /sell/<id>/details; sends each field once per page, with the
// form's CSRF token. Failures are ignored: analytics must never get in a seller's way.
(() => {
  if (window.trovaRolloutFields) return;
  window.trovaRolloutFields = true;
  const FIELDS = new Set(["title", "description", "category", "condition", "brand", "color", "price"]);
  const sent = new Set();
  document.addEventListener("change", (event) => {
    const el = event.target;
    const form = el && el.closest ? el.closest("form#listing-form") : null;
    if (!form || !FIELDS.has(el.name)) return;
    const match = (form.getAttribute("action") || "").match(/^\/sell\/(\d+)\/details$/);
    if (!match) return;
    const key = `${match[1]}:${el.name}`;
    if (sent.has(key)) return;
    sent.add(key);
    const token = form.querySelector("input[name=csrf_token]");
    fetch("/rollout/events", {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token ? token.value : "" },
      body: JSON.stringify({ type: "field_edited", listing_id: Number(match[1]), field: el.name }),
    }).catch(() => sent.delete(key));
  });
})();
