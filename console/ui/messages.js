// Message browser: one partition's records from an offset or a time, with
// key, value and headers shown as text, JSON or hex.
import { api, el, table, num, bytes, render as show, field } from "./util.js";

export async function render(main, { query }) {
  const topics = await api("GET", "/topics?internal=true");
  const topic = query.get("topic") || "";
  const format = query.get("format") || "text";
  const mode = query.get("timestamp") ? "timestamp" : "offset";
  const form = el("form", { id: "browse" },
    el("label", {}, "Topic", el("select", { name: "topic" },
      el("option", { value: "" }, "(choose)"),
      topics.map((t) => el("option", { value: t.name, selected: t.name === topic }, t.name)))),
    field("Partition", { name: "partition", type: "number", min: 0, value: query.get("partition") || 0 }),
    el("label", {}, "From", el("select", { name: "mode" },
      el("option", { value: "offset", selected: mode === "offset" }, "offset"),
      el("option", { value: "timestamp", selected: mode === "timestamp" }, "timestamp"))),
    field("Offset, or time (ms or RFC 3339)", { name: "from", value: query.get("offset") || query.get("timestamp") || "", placeholder: "log start" }),
    field("Max records", { name: "limit", type: "number", min: 1, max: 500, value: query.get("limit") || 50 }),
    el("label", {}, "Show as", el("select", { name: "format" },
      ["text", "json", "hex"].map((f) => el("option", { value: f, selected: f === format }, f)))),
    el("button", { type: "submit" }, "Read"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const q = new URLSearchParams({ topic: f.get("topic"), partition: f.get("partition"), limit: f.get("limit"), format: f.get("format") });
    if (f.get("from")) q.set(f.get("mode"), f.get("from"));
    location.hash = "#/messages?" + q;
  });
  const parts = [el("h1", {}, "Messages"), form];
  if (topic) {
    const q = new URLSearchParams({ partition: query.get("partition") || "0", limit: query.get("limit") || "50" });
    if (query.get("offset")) q.set("offset", query.get("offset"));
    if (query.get("timestamp")) q.set("timestamp", query.get("timestamp"));
    const p = await api("GET", `/topics/${encodeURIComponent(topic)}/messages?${q}`);
    const next = new URLSearchParams(query);
    next.delete("timestamp");
    next.set("offset", p.next);
    parts.push(
      el("p", { id: "browse-summary" }, `${topic}/${p.partition}: log ${p.log_start_offset} to ${p.high_watermark}, `,
        `${p.records.length} records from offset ${p.from}`, p.next < p.high_watermark ? [" · ", el("a", { href: "#/messages?" + next, id: "next-page" }, "next page")] : ""),
      table("records", ["OFFSET", "TIMESTAMP", "KEY", "VALUE", "HEADERS"], p.records.map((r) => [
        num(r.offset),
        new Date(r.timestamp).toISOString(),
        el("pre", {}, show(bytes(r.key), format)),
        el("pre", {}, show(bytes(r.value), format), r.truncated ? el("span", { class: "muted" }, ` … (${r.value_size} bytes)`) : ""),
        el("pre", {}, r.headers.map((h) => `${h.key}: ${show(bytes(h.value), format)}`).join("\n")),
      ])));
  }
  main.replaceChildren(...parts);
}
