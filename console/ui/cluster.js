// Cluster page: nodes, controller, partition health, each node's
// registration and offline log dirs (what `sluice cluster status` shows).
import { api, el, table, num } from "./util.js";

export async function render(main) {
  const c = await api("GET", "/cluster");
  const reg = new Map(c.registration.map((r) => [r.node_id, r]));
  const logDir = (id) => {
    const r = reg.get(id);
    if (!r || !r.reached) return el("span", { class: "muted" }, "?");
    return r.offline_log_dirs && r.offline_log_dirs.length ? el("span", { class: "bad" }, "offline") : el("span", { class: "good" }, "ok");
  };
  const health = (id) => {
    const r = reg.get(id);
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
      el("span", {}, "Topics: ", el("b", {}, c.topics)),
      el("span", {}, "Partitions: ", el("b", {}, c.partitions)),
      el("span", {}, "Under-replicated: ", el("b", { class: c.under_replicated_partitions ? "bad" : null }, c.under_replicated_partitions)),
      el("span", {}, "Offline: ", el("b", { class: c.offline_partitions ? "bad" : null }, c.offline_partitions))),
    el("h2", {}, "Nodes"),
    table("nodes", ["NODE", "ADDRESS", "HTTP", "LEADERS", "REPLICAS", "LOG DIR", "HEALTH", "ROLE"],
      c.brokers.map((b) => [num(b.node_id), b.address, b.http_address || "-", num(b.leaders), num(b.replicas),
        logDir(b.node_id), health(b.node_id), b.node_id === c.controller_id ? "controller" : ""])),
    el("h2", {}, "Offline log dirs"),
    problems.length ? table("offline-dirs", ["NODE", "DIR", "SINCE", "ERROR"], problems) : el("p", { id: "offline-dirs", class: "muted" }, "none"),
  );
}

export const refresh = render;
export const refreshMs = 5000;
