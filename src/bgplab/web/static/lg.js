// bgplab looking glass: keeps the protocol table live from /api/protocols.
// Values are set with textContent only, so text from the wire stays text.
"use strict";
(function () {
  const live = document.body.dataset.live;
  const mark = document.getElementById("live");
  function stateClass(s) {
    s = (s || "").toLowerCase();
    if (s === "up" || s === "established") return "st-up";
    if (["start", "connect", "active", "opensent", "openconfirm", "passive"].includes(s)) return "st-start";
    return "st-down";
  }
  function when(epoch) {
    if (!epoch) return "";
    const d = new Date(epoch * 1000), p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }
  function setCell(row, key, text, cls) {
    const td = row.querySelector(`td[data-k="${key}"]`);
    if (!td) return;
    if (cls !== undefined) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      td.replaceChildren(span);
    } else if (td.textContent !== String(text)) {
      td.textContent = text;
    }
  }
  let polls = 0;
  async function refreshProtocols() {
    try {
      // counters walk the routing table: every 10th poll only
      const detail = polls++ % 10 === 9 ? 1 : 0;
      const res = await fetch("/api/protocols?detail=" + detail, { cache: "no-store" });
      if (!res.ok) throw new Error(res.status);
      const protos = await res.json();
      const rows = document.querySelectorAll("#protocols tbody tr");
      for (const row of rows) {
        const p = protos.find((x) => x.name === row.dataset.proto);
        if (!p) continue;
        setCell(row, "state", p.state, stateClass(p.state));
        setCell(row, "since", when(p.since));
        setCell(row, "info", p.info);
        for (const k of ["imported", "filtered", "exported", "preferred"]) {
          if (k in p) setCell(row, k, p[k]);
        }
      }
      if (mark) mark.textContent = "updated " + new Date().toLocaleTimeString();
    } catch (err) {
      if (mark) mark.textContent = "not reachable (" + err + ")";
    }
  }
  if (live === "protocols") setInterval(refreshProtocols, 2000);
})();
