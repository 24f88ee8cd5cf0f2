/* gridrelay command view: plain JS over the node's /api (node/http_view.h).
 * No framework, nothing loaded from anywhere but the node. */
"use strict";

const POLL_MS = 2000;
const S = {
  session: null,        // {user, role, csrf}
  node: null,           // /api/node
  cases: new Map(),     // id -> row, kept current by polling with the cursor
  cursor: 0,
  filterKey: "",
  timer: null,
  caseId: null,
};

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return e;
}

function when(ms) {
  if (!ms) return "";
  const d = new Date(Number(ms));
  return d.toISOString().replace("T", " ").slice(0, 19);
}

function duration(ms) {
  const s = Math.round(Number(ms) / 1000);
  if (s < 120) return s + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function caseLink(id) {
  return el("a", { href: "#case/" + id, class: "id", title: id }, id.slice(-8));
}

function statusLine(text, bad) {
  const p = $("#status-line");
  p.textContent = text || "";
  p.className = bad ? "status error" : "status";
}

/* One call to the node's API; a refusal throws its JSON error. */
async function api(path, opts) {
  const init = { credentials: "same-origin", headers: {} };
  if (opts && opts.body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
    if (S.session) init.headers["X-CSRF-Token"] = S.session.csrf;
  }
  const r = await fetch(path, init);
  let data = null;
  try { data = await r.json(); } catch (e) { data = { error: "not JSON (" + r.status + ")" }; }
  if (r.status === 401 && !path.startsWith("/api/login")) showLogin();
  if (!r.ok) {
    const err = new Error(data && data.error ? data.error : "HTTP " + r.status);
    err.status = r.status;
    throw err;
  }
  return data;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function td(...c) { return el("td", {}, ...c); }

/* ---- login ---- */

function showLogin() {
  S.session = null;
  clearInterval(S.timer);
  S.timer = null;
  $("#login").hidden = false;
  $("#tabs").hidden = true;
  $("#who").hidden = true;
  for (const t of document.querySelectorAll(".tab")) t.hidden = true;
}

async function startSession(session) {
  S.session = session;
  S.node = await api("/api/node");
  $("#login").hidden = true;
  $("#tabs").hidden = false;
  $("#who").hidden = false;
  $("#who-name").textContent = session.user + " (" + session.role + ")";
  $("#node-name").textContent = S.node.id + " · " + S.node.tier;
  const tier = $("#f-tier");
  const names = { 1: "village", 2: "township", 3: "district", 4: "city" };
  for (let l = S.node.level - 1; l >= 1; l--)
    tier.append(el("option", { value: String(l) }, "tier " + (names[l] || l)));
  for (const c of S.node.children) tier.append(el("option", { value: c }, "node " + c));
  if (!S.timer) S.timer = setInterval(poll, POLL_MS);
  route();
}

async function login(ev) {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    const s = await api("/api/login", { body: { user: $("#login-user").value, password: $("#login-password").value } });
    $("#login-password").value = "";
    await startSession(s);
  } catch (e) {
    $("#login-error").textContent = e.message;
  }
}

async function logout() {
  try { await api("/api/logout", { body: {} }); } catch (e) { /* the session is gone either way */ }
  showLogin();
}

/* ---- tabs ---- */

function show(tab) {
  for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== "tab-" + tab;
  for (const a of document.querySelectorAll("#tabs a"))
    a.classList.toggle("active", a.dataset.tab === tab || (tab === "case" && a.dataset.tab === "cases"));
}

const LOADERS = {
  cases: loadCases, supervision: loadSupervision, daily: loadDaily,
  departments: loadDepartments, map: loadMap, ranking: loadRanking,
};

function route() {
  if (!S.session) return;
  const h = location.hash.replace(/^#/, "") || "cases";
  if (h.startsWith("case/")) {
    S.caseId = h.slice(5);
    show("case");
    loadCase().catch((e) => statusLine(e.message, true));
    return;
  }
  S.caseId = null;
  const tab = LOADERS[h] ? h : "cases";
  show(tab);
  LOADERS[tab]().catch((e) => statusLine(e.message, true));
}

/* What the page refreshes every POLL_MS: the open tab. */
function poll() {
  if (!S.session) return;
  const h = location.hash.replace(/^#/, "") || "cases";
  const p = h === "cases" ? pollCases() : h.startsWith("case/") ? loadCase()
          : h === "map" ? loadMap() : h === "supervision" ? loadSupervision()
          : h === "departments" ? loadDepartments() : null;
  if (p) p.then(() => { $("#live").className = "live on"; })
          .catch((e) => { $("#live").className = "live off"; statusLine(e.message, true); });
}

/* ---- cases ---- */

function filterQuery() {
  const q = new URLSearchParams();
  for (const [k, id] of [["tier", "#f-tier"], ["status", "#f-status"], ["category", "#f-category"], ["severity", "#f-severity"]]) {
    const v = $(id).value.trim();
    if (v) q.set(k, v);
  }
  return q;
}

async function loadCases() {
  S.cases.clear();
  S.cursor = 0;
  await pollCases();
}

async function pollCases() {
  const q = filterQuery();
  const key = q.toString();
  if (key !== S.filterKey) { S.filterKey = key; S.cases.clear(); S.cursor = 0; }
  if (S.cursor) q.set("since", String(S.cursor));
  const r = await api("/api/cases?" + q.toString());
  if (S.filterKey !== key) return;
  for (const c of r.cases) S.cases.set(c.id, c);
  S.cursor = r.cursor;
  renderCases();
  $("#live").className = "live on";
  statusLine("");
}

function renderCases() {
  const rows = [...S.cases.values()].sort((a, b) => b.updated_ms - a.updated_ms);
  $("#cases-count").textContent = rows.length + " case" + (rows.length === 1 ? "" : "s");
  fill($("#cases-table tbody"), rows.map((c) => el("tr", { "data-id": c.id, "data-status": c.status, class: "sev-" + c.severity },
    td(caseLink(c.id)), td(c.title), td(c.category), td(c.severity),
    td(el("span", { class: "st st-" + c.status }, c.status)),
    td(c.node + (c.here ? "" : " ↓")), td(c.holder), td(when(c.updated_ms)))));
}

/* ---- one case ---- */

async function loadCase() {
  const id = S.caseId;
  const c = await api("/api/cases/" + encodeURIComponent(id));
  if (S.caseId !== id) return;
  $("#case-title").textContent = c.title + " (" + c.id + ")";
  const facts = [["Status", c.status], ["Category", c.category + (c.category_name ? " · " + c.category_name : "")],
    ["Severity", c.severity], ["Held at", c.held_at + (c.below ? " (below)" : "")], ["Holder", c.holder],
    ["Department", c.dept + (c.co_depts.length ? " + " + c.co_depts.join(", ") : "")],
    ["Origin", c.origin + (c.reporter ? " · " + c.reporter : "")], ["Reported", when(c.created_ms)],
    ["Where", [c.location.grid, c.location.address, c.location.lat !== undefined ? c.location.lat.toFixed(5) + ", " + c.location.lon.toFixed(5) : ""].filter(Boolean).join(" · ")],
    ["Result", c.result], ["Merged into", c.merged_into], ["Merged", c.merged.join(", ")],
    ["Candidate duplicate of", c.candidate_of], ["Description", c.description]];
  const dl = $("#case-facts");
  dl.replaceChildren();
  for (const [k, v] of facts) {
    if (!v) continue;
    dl.append(el("dt", {}, k), el("dd", { id: k === "Status" ? "case-status" : "" }, v));
  }
  fill($("#timeline-table tbody"), c.timeline.map((t) => el("tr", {},
    td(String(t.seq)), td(when(t.time_ms)), td(t.action), td(t.from), td(t.to), td(t.actor), td(t.unit), td(t.reason),
    td(el("code", { title: t.hash || "" }, (t.hash || "").slice(0, 12))))));
  const hops = c.path.map((h, i) => el("tr", {},
    td(String(i + 1)), td(h.node), td(String(h.tier)), td(h.reason + (h.supervise ? " (督办)" : "")), td(when(h.time_ms)),
    td(el("code", { title: h.signer || "" }, (h.signer || "").slice(0, 16))),
    td(el("span", { class: h.verified ? "ok" : "error", title: h.signature || "" }, h.verified ? "✓ verified" : "✗ does not verify"))));
  fill($("#path-table tbody"), hops.length ? hops
    : [el("tr", {}, el("td", { colSpan: 7 }, "reported at this node: no hops"))]);
  const canAct = S.session.role === "operator" && !c.below;
  $("#case-actions").hidden = !canAct;
  if (canAct && !$("#action-target").options.length) targetOptions();
}

function targetOptions() {
  const kind = $("#action-kind").value;
  const sel = $("#action-target");
  const items = kind === "assign" ? S.node.children.map((c) => [c, c])
              : kind === "dispatch" ? S.node.departments.map((d) => [d.code, d.code + (d.name ? " · " + d.name : "")]) : [];
  sel.replaceChildren(...items.map(([v, t]) => el("option", { value: v }, t)));
  $("#action-target-label").hidden = !items.length;
}

async function act(ev) {
  ev.preventDefault();
  const kind = $("#action-kind").value;
  const body = { action: kind, text: $("#action-text").value };
  if (kind === "assign" || kind === "dispatch") body.target = $("#action-target").value;
  const out = $("#action-result");
  out.textContent = "sending…";
  out.className = "";
  try {
    const r = await api("/api/cases/" + encodeURIComponent(S.caseId) + "/actions", { body });
    out.textContent = r.action + ": now " + r.status;
    out.className = "ok";
    $("#action-text").value = "";
    await loadCase();
  } catch (e) {
    out.textContent = e.message;
    out.className = "error";
  }
}

/* ---- lists ---- */

async function loadSupervision() {
  const r = await api("/api/supervision");
  $("#supervision-count").textContent = r.items.length + (r.more ? "+" : "") + " overdue";
  fill($("#supervision-table tbody"), r.items.map((i) => el("tr", { class: "sev-" + i.severity },
    td(i.kind.replace(/_/g, " ")), td(caseLink(i.id)), td(i.title), td(i.node), td(i.holder),
    td(i.late_ms ? duration(i.late_ms) : ""), td(String(i.urges)), td(String(i.returns)), td(i.status))));
}

async function loadDaily() {
  const d = $("#daily-date").value;
  const r = await api("/api/daily" + (d ? "?date=" + d : ""));
  if (!d) $("#daily-date").value = r.date;
  fill($("#daily-table tbody"), r.nodes.map((n) => el("tr", { class: n.missing ? "warn" : "" },
    td(n.node), td(String(n.tier)), td(String(n.units)), td(String(n.on_time)), td(String(n.late)),
    td(String(n.missing)), td(String(n.pending)),
    td(n.units_listed.filter((u) => u.state === "late" || u.state === "missing")
      .map((u) => u.unit + " " + u.state + (u.state === "late" ? " " + duration(u.late_ms) : "")).join(", ")))));
  $("#daily-silent").textContent = r.silent.length ? "No summary from: " + r.silent.join(", ") : "";
}

async function loadDepartments() {
  const r = await api("/api/departments");
  const box = $("#departments-list");
  if (!r.departments.length) { box.replaceChildren(el("p", {}, "This node has no departments.")); return; }
  box.replaceChildren(...r.departments.map((d) => el("div", { class: "dept" },
    el("h3", {}, d.code + (d.name ? " · " + d.name : "") + " — " + d.open + " open, " + d.claimed + " claimed"),
    d.tasks.length ? el("table", {}, el("thead", {}, el("tr", {}, ...["Case", "Title", "Severity", "State", "Role", "Dispatched", "Due", "Urged"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...d.tasks.map((t) => el("tr", { class: "sev-" + t.severity + (t.due_ms && t.due_ms < S.node.now_ms ? " warn" : "") },
        td(caseLink(t.id)), td(t.title), td(t.severity), td(t.state), td(t.lead ? "lead" : "co"),
        td(when(t.dispatched_ms)), td(when(t.due_ms)), td(String(t.urged)))))) : el("p", {}, "queue empty"))));
}

/* An SVG of the points over the [map] outlines and their bounding box
 * (equirectangular, the longitude scaled by cos(latitude)): no tiles,
 * nothing from outside. */
async function loadMap() {
  const r = await api("/api/map");
  $("#map-count").textContent = r.points.length + " with coordinates" +
    (r.outlines.length ? ", " + r.outlines.length + " outlines" : "");
  const W = 800, H = 500, pad = 30;
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("id", "map-svg");
  const bg = document.createElementNS(NS, "rect");
  for (const [k, v] of [["x", 0], ["y", 0], ["width", W], ["height", H], ["class", "map-bg"]]) bg.setAttribute(k, v);
  svg.append(bg);
  if (r.bbox) {
    const b = r.bbox;
    const k = Math.cos((b.min_lat + b.max_lat) / 2 * Math.PI / 180);
    const spanX = Math.max((b.max_lon - b.min_lon) * k, 0.002), spanY = Math.max(b.max_lat - b.min_lat, 0.002);
    const scale = Math.min((W - 2 * pad) / spanX, (H - 2 * pad) / spanY);
    const cx = (b.min_lon + b.max_lon) / 2, cy = (b.min_lat + b.max_lat) / 2;
    const x = (lon) => W / 2 + (lon - cx) * k * scale, y = (lat) => H / 2 - (lat - cy) * scale;
    for (let i = 0; i <= 4; i++) {
      const line = document.createElementNS(NS, "line");
      const gx = pad + i * (W - 2 * pad) / 4;
      for (const [a, v] of [["x1", gx], ["x2", gx], ["y1", pad / 2], ["y2", H - pad / 2], ["class", "grid"]]) line.setAttribute(a, v);
      svg.append(line);
    }
    for (const o of r.outlines) {
      const poly = document.createElementNS(NS, "polygon");
      poly.setAttribute("points", o.corners.map(([la, lo]) => x(lo).toFixed(1) + "," + y(la).toFixed(1)).join(" "));
      poly.setAttribute("class", "outline");
      const t = document.createElementNS(NS, "title");
      t.textContent = o.name;
      poly.append(t);
      svg.append(poly);
      const label = document.createElementNS(NS, "text");
      const n = o.corners.length;
      label.setAttribute("x", (o.corners.reduce((s, c) => s + x(c[1]), 0) / n).toFixed(1));
      label.setAttribute("y", (o.corners.reduce((s, c) => s + y(c[0]), 0) / n).toFixed(1));
      label.setAttribute("class", "outline-name");
      label.textContent = o.name;
      svg.append(label);
    }
    for (const p of r.points) {
      const a = document.createElementNS(NS, "a");
      a.setAttribute("href", "#case/" + p.id);
      const c = document.createElementNS(NS, "circle");
      c.setAttribute("cx", x(p.lon).toFixed(1));
      c.setAttribute("cy", y(p.lat).toFixed(1));
      c.setAttribute("r", p.severity === "extra_urgent" ? 9 : p.severity === "urgent" ? 7 : 5);
      c.setAttribute("class", "pt sev-" + p.severity + (p.open ? "" : " closed"));
      const t = document.createElementNS(NS, "title");
      t.textContent = `${p.title} · ${p.category} · ${p.status} · ${p.grid || ""} (${p.lat.toFixed(5)}, ${p.lon.toFixed(5)})`;
      c.append(t);
      a.append(c);
      svg.append(a);
    }
    const cap = document.createElementNS(NS, "text");
    cap.setAttribute("x", pad);
    cap.setAttribute("y", H - 8);
    cap.setAttribute("class", "cap");
    cap.textContent = `${b.min_lat.toFixed(4)}…${b.max_lat.toFixed(4)} N, ${b.min_lon.toFixed(4)}…${b.max_lon.toFixed(4)} E`;
    svg.append(cap);
  }
  $("#map-box").replaceChildren(svg);
}

async function loadRanking() {
  const r = await api("/api/ranking?period=" + $("#rank-period").value + "&by=" + $("#rank-by").value);
  const pct = (a, b) => (Number(b) ? (100 * Number(a) / Number(b)).toFixed(1) + " %" : "-");
  fill($("#ranking-table tbody"), r.units.map((u) => el("tr", {},
    td(String(u.rank)), td(u.unit), td(u.score.toFixed(1)), td(String(u.received)),
    td(pct(u.accepted_on_time, u.accept_judged)), td(pct(u.resolved_on_time, u.resolve_judged)),
    td(pct(u.first_time, u.resolved)), td(pct(u.fed_back, u.resolved)), td(String(u.overdue)),
    td(`${u.daily_on_time} / ${u.daily_late} / ${u.daily_missing}`))));
}

/* ---- start ---- */

document.addEventListener("DOMContentLoaded", async () => {
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#filters").addEventListener("change", () => loadCases().catch((e) => statusLine(e.message, true)));
  $("#filters").addEventListener("submit", (e) => e.preventDefault());
  $("#action-form").addEventListener("submit", act);
  $("#action-kind").addEventListener("change", targetOptions);
  $("#daily-date").addEventListener("change", () => loadDaily().catch((e) => statusLine(e.message, true)));
  $("#rank-period").addEventListener("change", () => loadRanking().catch((e) => statusLine(e.message, true)));
  $("#rank-by").addEventListener("change", () => loadRanking().catch((e) => statusLine(e.message, true)));
  window.addEventListener("hashchange", route);
  try {
    await startSession(await api("/api/session"));
  } catch (e) {
    showLogin();
  }
});
