// Stormwatch console: live counters and feed over server-sent events, chart refresh,
// feed filters, and keyboard shortcuts for the question queue. Post text is only ever
// inserted with textContent, never as HTML.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function postItem(post) {
  const li = el("li", "post");
  li.dataset.rowid = post.rowid;
  li.appendChild(el("p", "text", post.text));
  const when = post.time ? `${post.time.slice(0, 16).replace("T", " ")} UTC` : "no time";
  const meta = el("p", "meta", `${post.author || "unknown"} · ${when}`);
  for (const chip of post.chips || []) meta.appendChild(el("span", `chip chip-${chip}`, chip));
  li.appendChild(meta);
  return li;
}

function showAlerts(alerts) {
  const box = document.getElementById("alerts");
  if (!box) return;
  box.replaceChildren(...(alerts || []).map((a) => el("div", a.level, a.message)));
}

function dashboard() {
  const feed = document.getElementById("feed");
  const filters = document.getElementById("filters");
  const windowSelect = document.getElementById("window");
  let filtered = false;

  const refreshCharts = () => {
    const w = windowSelect ? windowSelect.value : "auto";
    for (const img of document.querySelectorAll("img[data-chart]")) {
      img.src = `/charts/${img.dataset.chart}.svg?window=${encodeURIComponent(w)}&t=${Date.now()}`;
    }
  };
  setInterval(refreshCharts, 5000);
  windowSelect?.addEventListener("change", refreshCharts);

  const load = async () => {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(filters)) if (v) params.set(k, v);
    filtered = [...params.keys()].length > 0;
    params.set("limit", "50");
    const response = await fetch(`/api/v1/posts?${params}`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    feed.replaceChildren(...data.posts.map(postItem));
  };
  filters?.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();

  const source = new EventSource("/api/v1/events");
  source.addEventListener("counters", (event) => {
    const data = JSON.parse(event.data);
    for (const node of document.querySelectorAll("[data-counter]")) {
      const value = data[node.dataset.counter];
      if (typeof value === "number") node.textContent = value.toLocaleString("en-US");
    }
    showAlerts(data.alerts);
  });
  source.addEventListener("post", (event) => {
    if (filtered) return; // a filtered feed is refreshed on demand
    const item = postItem(JSON.parse(event.data));
    feed.prepend(item);
    while (feed.children.length > 200) feed.lastElementChild.remove();
  });
}

function queue() {
  const items = () => [...document.querySelectorAll("#queue li.question")];
  let index = 0;
  const select = (i) => {
    const all = items();
    if (!all.length) return;
    index = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((li, j) => li.classList.toggle("selected", j === index));
    all[index].focus({ preventScroll: false });
  };
  const act = async (action) => {
    const li = items()[index];
    if (!li) return;
    const response = await fetch(`/api/v1/questions/${li.dataset.rowid}/${action}`, {
      method: "POST",
      headers: { "X-CSRF-Token": csrfToken(), "Content-Type": "application/json" },
      body: "{}",
    });
    if (response.ok) window.location.reload();
  };
  document.addEventListener("keydown", (event) => {
    const typing = ["TEXTAREA", "INPUT", "SELECT"].includes(document.activeElement?.tagName);
    if (typing) {
      if (event.key === "Escape") document.activeElement.blur();
      return;
    }
    const keys = { j: () => select(index + 1), k: () => select(index - 1), h: () => act("hide"),
      x: () => act("abusive"), u: () => act("undo"),
      p: () => { const li = items()[index]; act(li?.classList.contains("pinned") ? "unpin" : "pin"); },
      a: () => { const box = items()[index]?.querySelector("textarea"); if (box) { event.preventDefault(); box.focus(); } } };
    if (keys[event.key]) keys[event.key]();
  });
  select(0);
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "dashboard") dashboard();
  if (page === "queue") queue();
});
