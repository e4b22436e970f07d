// The console's router: #/page/arg?query picks a page module and renders it
// into <main>. Each page sets body[data-page] when it has drawn its data,
// which the browser tests wait for.
import { showError } from "./util.js";
import * as cluster from "./cluster.js";
import * as topics from "./topics.js";
import * as messages from "./messages.js";
import * as groups from "./groups.js";
import * as reassignments from "./reassignments.js";

const pages = { cluster, topics, messages, groups, reassignments };
let timer = null;

async function route() {
  clearInterval(timer);
  showError(null);
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  const page = pages[name] ? name : "cluster";
  document.body.dataset.page = "";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.nav === page);
  const main = document.getElementById("main");
  const args = { arg: rest.map(decodeURIComponent).join("/"), query: new URLSearchParams(query || "") };
  const draw = async () => {
    try {
      await pages[page].render(main, args);
      document.body.dataset.page = page;
    } catch (err) {
      showError(err);
      document.body.dataset.page = page + "-error";
    }
  };
  await draw();
  if (pages[page].refresh) timer = setInterval(() => pages[page].refresh(main, args).catch(showError), pages[page].refreshMs);
}

window.addEventListener("hashchange", route);
route();
