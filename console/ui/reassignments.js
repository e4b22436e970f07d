// Reassignments: partition moves under way, and a form to start one.
import { api, el, table, num, ids, field, showError } from "./util.js";

function listView(list) {
  return list.length ? table("reassignments", ["TOPIC", "PARTITION", "TARGET", "REPLICAS", "ADDING", "REMOVING", "ISR"], list.map((r) =>
    [r.topic, num(r.partition), ids(r.target), ids(r.replicas), ids(r.adding), ids(r.removing), ids(r.isr)]))
    : el("p", { id: "reassignments", class: "muted" }, "no reassignments under way");
}

export async function render(main) {
  const list = await api("GET", "/reassignments");
  const form = el("form", { id: "reassign" },
    field("Topic", { name: "topic", required: true }),
    field("Partition", { name: "partition", type: "number", min: 0, value: 0 }),
    field("Replicas (node ids, leader first)", { name: "replicas", required: true, placeholder: "2,3,1" }),
    el("button", { type: "submit" }, "Reassign"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      await api("POST", "/reassignments", { topic: f.get("topic"), partition: Number(f.get("partition")),
        replicas: String(f.get("replicas")).split(",").map((s) => Number(s.trim())) });
      await render(main);
    } catch (err) { showError(err); }
  });
  main.replaceChildren(
    el("h1", {}, "Reassignments"),
    form,
    el("div", { id: "reassign-list" }, listView(list)));
}

// refresh redraws the list only, keeping what the form holds.
export async function refresh() {
  const list = await api("GET", "/reassignments");
  const box = document.getElementById("reassign-list");
  if (box) box.replaceChildren(listView(list));
}
export const refreshMs = 5000;
