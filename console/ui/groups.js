// Consumer groups: the list, and one group's members, assignment and lag
// per partition, with an offset reset that previews its plan first.
import { api, el, table, num, field, showError } from "./util.js";

export async function render(main, { arg }) {
  if (arg) return renderGroup(main, arg);
  const list = await api("GET", "/groups");
  main.replaceChildren(
    el("h1", {}, "Consumer groups"),
    list.length ? table("groups", ["GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR"], list.map((g) =>
      [el("a", { href: "#/groups/" + encodeURIComponent(g.group_id) }, g.group_id), g.state, g.protocol_type || "-", num(g.coordinator)]))
      : el("p", { id: "groups", class: "muted" }, "no consumer groups"));
}

async function renderGroup(main, id) {
  const [g, all] = await Promise.all([api("GET", "/groups/" + encodeURIComponent(id)), api("GET", "/topics")]);
  // The group's own topics first, then every other one.
  const topics = [...new Set([...g.partitions.map((p) => p.topic), ...all.map((t) => t.name)])];
  const totalLag = g.partitions.reduce((s, p) => s + p.lag, 0);
  const form = el("form", { id: "reset-offsets" },
    el("label", {}, "Topic", el("select", { name: "topic" }, topics.map((t) => el("option", { value: t }, t)))),
    field("Partitions (empty: all)", { name: "partitions", placeholder: "0,1" }),
    el("label", {}, "Reset to", el("select", { name: "to" },
      ["earliest", "latest", "offset", "datetime", "shift"].map((t) => el("option", { value: t }, t)))),
    field("Offset / time / shift", { name: "value", placeholder: "for offset, datetime (RFC 3339), shift" }),
    el("button", { type: "submit", id: "reset-preview" }, "Preview"));
  const planBox = el("div", { id: "reset-box" });
  const request = (execute) => {
    const f = new FormData(form);
    const to = f.get("to");
    const v = String(f.get("value") || "");
    const body = { topic: f.get("topic"), to, execute };
    const parts = String(f.get("partitions") || "").split(",").map((s) => s.trim()).filter(Boolean);
    if (parts.length) body.partitions = parts.map(Number);
    if (to === "offset") body.offset = Number(v);
    if (to === "shift") body.shift = Number(v);
    if (to === "datetime") body.datetime = v;
    return body;
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const body = request(false);
      const res = await api("POST", `/groups/${encodeURIComponent(id)}/reset-offsets`, body);
      showError(null);
      planBox.replaceChildren(
        el("h2", {}, "Plan (nothing committed yet)"),
        table("reset-plan", ["TOPIC", "PARTITION", "PREVIOUS-OFFSET", "NEW-OFFSET"], res.plan.map((m) =>
          [m.topic, num(m.partition), m.previous_offset < 0 ? "-" : num(m.previous_offset), num(m.new_offset)])),
        el("button", { class: "danger", type: "button", id: "reset-execute", onclick: async () => {
          try {
            await api("POST", `/groups/${encodeURIComponent(id)}/reset-offsets`, { ...body, execute: true });
            await renderGroup(main, id);
            document.getElementById("reset-box").replaceChildren(el("p", { class: "notice", id: "reset-done" }, "offsets committed"));
          } catch (err) { showError(err); }
        } }, "Execute reset"));
    } catch (err) { showError(err); }
  });
  main.replaceChildren(
    el("h1", {}, "Group ", el("span", { id: "group-id" }, g.group_id)),
    el("p", { class: "summary" },
      el("span", {}, "State: ", el("b", { id: "group-state" }, g.state)),
      el("span", {}, "Protocol: ", el("b", {}, g.protocol || "-")),
      el("span", {}, "Generation: ", el("b", {}, g.generation)),
      el("span", {}, "Members: ", el("b", {}, g.members.length)),
      el("span", {}, "Total lag: ", el("b", { id: "total-lag" }, totalLag))),
    el("h2", {}, "Members"),
    g.members.length ? table("members", ["MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"], g.members.map((m) =>
      [m.member_id, m.client_id, m.client_host, m.assignment.map((a) => `${a.topic}/${a.partition}`).join(", ") || "-"]))
      : el("p", { id: "members", class: "muted" }, "no members"),
    el("h2", {}, "Lag per partition"),
    table("lag", ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID"], g.partitions.map((p) =>
      [p.topic, num(p.partition), p.committed_offset < 0 ? "-" : num(p.committed_offset), num(p.log_end_offset), num(p.lag), p.member_id || "-"])),
    el("h2", {}, "Reset offsets"),
    g.members.length ? el("p", { class: "muted" }, "stop the group's consumers first: a group with members cannot be reset") : "",
    form, planBox);
}
