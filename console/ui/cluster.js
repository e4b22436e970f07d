// Cluster page: nodes (live and down), controller, partition health, each
// node's registration and offline log dirs (what `sluice cluster status`
// shows; internal topics are counted with "include internal topics").
import { api, el, table, num } from "./util.js";

export async function render(main, { query }) {
  const internal = query.get("internal") === "true";
  const c = await api("GET", "/cluster" + (internal ? "?internal=true" : ""));
  const reg = new Map(c.registration.map((r) => [r.node_id, r]));
  const up = (b) => b.state === "up";
  const logDir = (b) => {
    const r = reg.get(b.node_id);
    if (!up(b)) return "-";
    if (!r || !r.reached) return el("span", { class: "muted" }, "?");
    return r.offline_log_dirs && r.offline_log_dirs.length ? el("span", { class: "bad" }, "offline") : el("span", { class: "good" }, "ok");
  };
  const health = (b) => {
    const r = reg.get(b.node_id);
    if (!up(b)) return el("span", { class: "bad" }, "down");
    if (!r) return "?";
    return r.registered ? el("span", { class: "good" }, "registered") : el("span", { class: "bad" }, "not registered: " + (r.problem || "?"));
  };
  const problems = [];
  for (const r of c.registration) {
    for (const d of r.offline_log_dirs || []) problems.push([r.node_id, d.dir, d.since, d.error]);
  }
  main.replaceChildren(
    el("h1", {}, "Cluster ", el("span", { class: "muted" }, c.cluster_id)),
    el("p", { class: "summary", id: "cluster-summary" },
      el("span", {}, "Controller: ", el("b", { id: "controller" }, c.controller_id)),
      el("span", {}, "Topics: ", el("b", { id: "topic-count" }, c.topics)),
      el("span", {}, "Partitions: ", el("b", { id: "partition-count" }, c.partitions)),
      el("span", {}, "Under-replicated: ", el("b", { class: c.under_replicated_partitions ? "bad" : null }, c.under_replicated_partitions)),
      el("span", {}, "Offline: ", el("b", { class: c.offline_partitions ? "bad" : null }, c.offline_partitions)),
      el("a", { href: internal ? "#/cluster" : "#/cluster?internal=true" },
        internal ? "leave out internal topics" : `include internal topics (${c.hidden_internal_topics})`)),
    el("h2", {}, "Nodes"),
    table("nodes", ["NODE", "STATE", "ADDRESS", "HTTP", "LEADERS", "REPLICAS", "LOG DIR", "HEALTH", "ROLE"],
      c.brokers.map((b) => [num(b.node_id), b.state, up(b) ? b.address : "-", up(b) ? b.http_address || "-" : "-",
        num(b.leaders), num(b.replicas), logDir(b), health(b), b.node_id === c.controller_id ? "controller" : ""])),
    el("h2", {}, "Offline log dirs"),
    problems.length ? table("offline-dirs", ["NODE", "DIR", "SINCE", "ERROR"], problems) : el("p", { id: "offline-dirs", class: "muted" }, "none"),
  );
}

export const refresh = render;
export const refreshMs = 5000;
