// bgplab lab ui: recolours the sessions and refreshes the tables every second
// from /api/lab/state; text is set with textContent only.
"use strict";
(function () {
  const mark = document.getElementById("live");
  const cls = (s) => (s === "Established" ? "st-up" : s === "unknown" ? "st-start" : "st-down");
  function el(tag, text, className) {
    const n = document.createElement(tag);
    if (text !== undefined) n.textContent = text;
    if (className) n.className = className;
    return n;
  }
  function when(epoch) {
    return epoch ? new Date(epoch * 1000).toLocaleTimeString() : "";
  }
  function showDrill(drill) {
    const box = document.getElementById("drill");
    if (!box) return;
    const events = drill.events || [];
    const fresh = drill.updated && Date.now() / 1000 - drill.updated < 600;
    box.replaceChildren();
    if (!events.length || !fresh) return;
    box.className = "drill";
    box.append(el("h2", "Drill (bgplab lab fault), updated " + when(drill.updated)));
    const ul = el("ul");
    for (const ev of events) ul.append(el("li", `${Number(ev.at).toFixed(1)} s  ${ev.text}`));
    box.append(ul);
  }
  async function refresh() {
    try {
      const res = await fetch("/api/lab/state", { cache: "no-store" });
      if (!res.ok) throw new Error(res.status);
      const st = await res.json();
      for (const ed of st.edges) {
        for (const line of document.querySelectorAll("polyline.session")) {
          if (line.dataset.session !== ed.id) continue;
          line.setAttribute("stroke", ed.colour);
          line.dataset.state = ed.state;
          const t = line.querySelector("title");
          if (t) t.textContent = `BGP ${ed.a} (${ed.proto_a || "?"}: ${ed.state_a || "?"}) — ${ed.b} (${ed.proto_b || "?"}: ${ed.state_b || "?"}): ${ed.state}`;
        }
        for (const span of document.querySelectorAll("span[data-edge]")) {
          if (span.dataset.edge !== ed.id) continue;
          span.textContent = ed.state;
          span.className = cls(ed.state);
          const row = span.closest("tr");
          if (row && row.cells.length >= 5) {
            row.cells[3].textContent = `${ed.proto_a || "-"}: ${ed.state_a || "-"}`;
            row.cells[4].textContent = `${ed.proto_b || "-"}: ${ed.state_b || "-"}`;
          }
        }
      }
      for (const [host, h] of Object.entries(st.hosts)) {
        for (const span of document.querySelectorAll("span[data-alive]")) {
          if (span.dataset.alive !== host) continue;
          span.textContent = h.alive ? "running" : "not running";
          span.className = h.alive ? "st-up" : "st-down";
        }
        for (const span of document.querySelectorAll("span[data-pid]")) {
          if (span.dataset.pid === host) span.textContent = h.pid === null ? "" : String(h.pid);
        }
      }
      showDrill(st.drill || {});
      if (mark) mark.textContent = "live, updated " + when(st.time);
    } catch (err) {
      if (mark) mark.textContent = "not reachable (" + err + ")";
    }
  }
  async function loadHost(details) {
    const box = details.querySelector(".detail");
    try {
      const res = await fetch("/api/lab/host/" + encodeURIComponent(details.dataset.host), { cache: "no-store" });
      const doc = await res.json();
      box.replaceChildren(el("pre", doc.routes, "birdc"));
      if (doc.node_status) {
        box.append(el("h3", "calicoctl node status"), el("pre", doc.node_status, "birdc"));
      }
    } catch (err) {
      box.textContent = "failed: " + err;
    }
  }
  for (const d of document.querySelectorAll("details.host-detail")) {
    d.addEventListener("toggle", () => { if (d.open) loadHost(d); });
  }
  const pingButton = document.getElementById("run-ping");
  if (pingButton) pingButton.addEventListener("click", async () => {
    const info = document.getElementById("ping-info");
    info.textContent = "pinging…";
    pingButton.disabled = true;
    try {
      const doc = await (await fetch("/api/lab/ping", { cache: "no-store" })).json();
      const ok = new Map(doc.matrix.map(([a, b, v]) => [a + "\u0000" + b, v]));
      const tbl = el("table");
      tbl.id = "ping-matrix";
      const head = el("tr");
      head.append(el("th", "from \\ to"));
      for (const p of doc.pods) head.append(el("th", p.name));
      tbl.append(head);
      for (const a of doc.pods) {
        const tr = el("tr");
        tr.append(el("th", `${a.name} (${a.address})`));
        for (const b of doc.pods) {
          if (a.name === b.name) { tr.append(el("td", "·")); continue; }
          const v = ok.get(a.name + "\u0000" + b.name);
          tr.append(el("td", v ? "ok" : "✗", v ? "st-up" : "st-down"));
        }
        tbl.append(tr);
      }
      document.getElementById("ping").replaceChildren(tbl);
      info.textContent = (doc.ok ? "all pods reach each other" : "some pods do not reach each other") + ", " + when(doc.time);
    } catch (err) {
      info.textContent = "failed: " + err;
    } finally {
      pingButton.disabled = false;
    }
  });
  const checkButton = document.getElementById("run-check");
  if (checkButton) checkButton.addEventListener("click", async () => {
    const info = document.getElementById("check-info");
    info.textContent = "checking…";
    checkButton.disabled = true;
    try {
      const doc = await (await fetch("/api/lab/check?run=1", { cache: "no-store" })).json();
      // html built by the server from escaped parts (bgplab.lab.ui.check_html)
      const tmpl = document.createElement("template");
      tmpl.innerHTML = doc.html;
      document.getElementById("check").replaceChildren(tmpl.content);
      info.textContent = "";
    } catch (err) {
      info.textContent = "failed: " + err;
    } finally {
      checkButton.disabled = false;
    }
  });
  refresh();
  setInterval(refresh, 1000);
})();
