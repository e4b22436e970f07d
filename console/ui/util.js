// Helpers shared by the pages: DOM building, the API, byte rendering.

// el builds an element: el("td", {class: "num"}, "12").
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// table builds a table with an id, a header row and rows of cells; a cell
// is text, a node, or {v, num} for a right-aligned number.
export function table(id, headers, rows) {
  const cell = (c) => {
    if (c !== null && typeof c === "object" && !(c instanceof Node)) return el("td", { class: c.num ? "num" : null }, c.v);
    return el("td", {}, c);
  };
  return el("table", { id },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map(cell)))));
}

export const num = (v) => ({ v, num: true });
export const ids = (list) => (list && list.length ? list.join(",") : "-");

// api calls the console's JSON API; an error answer throws its message.
export async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch("/api" + path, opts);
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

// showError puts a message in the error bar (null clears it).
export function showError(err) {
  const bar = document.getElementById("error");
  bar.textContent = err ? String(err.message || err) : "";
  bar.hidden = !err;
}

// bytes decodes a base64 JSON []byte (null stays null).
export function bytes(b64) {
  if (b64 === null || b64 === undefined) return null;
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

// render shows bytes as text, JSON (pretty, when they parse) or hex.
export function render(b, format) {
  if (b === null) return "(null)";
  if (format === "hex") return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
  const text = new TextDecoder().decode(b);
  if (format === "json") {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return "(not JSON) " + text;
    }
  }
  return text;
}

// size formats a byte count.
export function size(n) {
  if (n === undefined || n === null) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

// field is a labelled input.
export function field(label, attrs) {
  return el("label", {}, label, el("input", attrs));
}
