// Topics: the list with a create form, and one topic's partitions (leader,
// ISR, offsets, size, rates), effective configs (alter, reset) and delete.
import { api, el, table, num, ids, size, field, showError } from "./util.js";

export async function render(main, { arg, query }) {
  if (arg) return renderTopic(main, arg);
  const internal = query.get("internal") === "true";
  const list = await api("GET", "/topics" + (internal ? "?internal=true" : ""));
  const status = el("p", { id: "create-status", class: "notice" });
  const form = el("form", { id: "create-topic" },
    field("Name", { name: "name", required: true, pattern: "[a-zA-Z0-9._-]+" }),
    field("Partitions", { name: "partitions", type: "number", min: 1, value: 1 }),
    field("Replication factor", { name: "replication_factor", type: "number", min: 1, value: 1 }),
    field("Configs (k=v,k=v)", { name: "configs", placeholder: "retention.ms=86400000" }),
    el("button", { type: "submit" }, "Create topic"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const configs = {};
    for (const kv of String(f.get("configs")).split(",").map((s) => s.trim()).filter(Boolean)) {
      const [k, ...v] = kv.split("=");
      configs[k.trim()] = v.join("=").trim();
    }
    try {
      const t = await api("POST", "/topics", { name: f.get("name"), partitions: Number(f.get("partitions")),
        replication_factor: Number(f.get("replication_factor")), configs });
      showError(null);
      await render(main, { arg: "", query });
      document.getElementById("create-status").textContent = `created topic ${t.name} with ${t.partitions.length} partitions`;
    } catch (err) {
      showError(err);
    }
  });
  main.replaceChildren(
    el("h1", {}, "Topics"),
    form, status,
    el("p", {}, el("a", { href: internal ? "#/topics" : "#/topics?internal=true" }, internal ? "hide internal topics" : "show internal topics")),
    table("topics", ["TOPIC", "PARTITIONS", "REPLICATION", "UNDER-REPLICATED", "OFFLINE", ""],
      list.map((t) => [el("a", { href: "#/topics/" + encodeURIComponent(t.name) }, t.name), num(t.partitions), num(t.replication_factor),
        num(t.under_replicated), num(t.offline), t.internal ? "internal" : (t.error || "")])),
  );
}

// samples holds each topic's last partition offsets and sizes, for rates.
const samples = new Map();

function partitionRows(t) {
  const now = Date.now();
  const prev = samples.get(t.name);
  samples.set(t.name, { at: now, parts: t.partitions });
  return t.partitions.map((p, i) => {
    let rate = "-", bytes = "-";
    const q = prev && prev.parts[i];
    if (q && !p.error && !q.error && now > prev.at) {
      const secs = (now - prev.at) / 1000;
      rate = ((p.log_end_offset - q.log_end_offset) / secs).toFixed(1);
      bytes = size(Math.max(0, (p.size_bytes - q.size_bytes) / secs)) + "/s";
    }
    return [num(p.partition), num(p.leader), num(p.leader_epoch), ids(p.replicas), ids(p.isr),
      num(p.log_start_offset), num(p.log_end_offset), num(p.high_watermark), size(p.size_bytes), num(p.segments),
      num(rate), bytes, p.error || (p.isr.length < p.replicas.length ? "under-replicated" : "")];
  });
}

const partitionHeaders = ["PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "LOG-START", "LOG-END", "HIGH-WATERMARK",
  "SIZE", "SEGMENTS", "RECORDS/S", "BYTES/S", ""];

async function renderTopic(main, name) {
  const t = await api("GET", "/topics/" + encodeURIComponent(name));
  const path = "/topics/" + encodeURIComponent(name);
  const alter = el("form", { id: "alter-config" },
    el("label", {}, "Config", el("select", { name: "key" }, t.effective_configs.map((c) => el("option", { value: c.name }, c.name)))),
    field("Value", { name: "value", required: true }),
    el("button", { type: "submit" }, "Set config"));
  alter.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(alter);
    try {
      await api("PATCH", path + "/configs", { set: { [f.get("key")]: f.get("value") } });
      await renderTopic(main, name);
    } catch (err) { showError(err); }
  });
  const resetConfig = (key) => el("button", { class: "secondary", type: "button", onclick: async () => {
    try {
      await api("PATCH", path + "/configs", { delete: [key] });
      await renderTopic(main, name);
    } catch (err) { showError(err); }
  } }, "reset to default");
  const confirm = el("div", { class: "panel", id: "delete-confirm", hidden: true },
    field(`Type ${name} to delete the topic and all its records`, { id: "delete-name" }),
    el("button", { class: "danger", type: "button", id: "delete-execute", onclick: async () => {
      try {
        await api("DELETE", path + "?confirm=" + encodeURIComponent(document.getElementById("delete-name").value));
        location.hash = "#/topics";
      } catch (err) { showError(err); }
    } }, "Delete for good"));
  main.replaceChildren(
    el("h1", {}, "Topic ", el("span", { id: "topic-name" }, t.name), t.internal ? el("span", { class: "muted" }, " (internal)") : ""),
    el("p", {}, el("a", { href: "#/messages?topic=" + encodeURIComponent(t.name) }, "browse messages"), " · ",
      el("button", { class: "danger", type: "button", id: "delete-topic", onclick: () => { confirm.hidden = false; } }, "Delete topic…")),
    confirm,
    el("h2", {}, "Partitions"),
    el("div", { id: "partitions-box" }, table("partitions", partitionHeaders, partitionRows(t))),
    el("h2", {}, "Configs"),
    alter,
    table("configs", ["CONFIG", "VALUE", "SOURCE", ""], t.effective_configs.map((c) =>
      [c.name, c.value, c.source, c.source === "topic" ? resetConfig(c.name) : ""])),
  );
}

// refresh redraws a topic's partitions (and so its rates).
export async function refresh(main, { arg }) {
  if (!arg) return;
  const t = await api("GET", "/topics/" + encodeURIComponent(arg));
  const box = document.getElementById("partitions-box");
  if (box) box.replaceChildren(table("partitions", partitionHeaders, partitionRows(t)));
}
export const refreshMs = 3000;
