// The analyst's web app: one page, hash routes, data from the API of the same server. Everything
// shown comes from crawled (hostile) pages, so it is only ever set as text, never as markup.

const main = document.getElementById("main");

// --- small helpers ---------------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "text") element.textContent = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const enc = encodeURIComponent;
const hostLink = (host) => host ? h("a", {href: `#/host/${enc(host)}`}, host) : "";
const ipLink = (ip) => ip ? h("a", {href: `#/ip/${enc(ip)}`}, ip) : "";
const trackerLink = (value) => h("a", {href: `#/tracker/${enc(value)}`}, value);
const isIp = (value) => /^[0-9.]+$/.test(value) || value.includes(":");
const entityLink = (value) => isIp(value) ? ipLink(value) : hostLink(value);

let routesTaken = 0;

// An answer reaching a page the user has already left never settles: the page that asked draws
// nothing over the one they went to.
async function api(path, options = {}) {
  const askedOn = routesTaken;
  const response = await fetch(path, {credentials: "same-origin", ...options});
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (askedOn !== routesTaken) return new Promise(() => {});
  if (!response.ok) throw new Error(body && body.message ? body.message : `${response.status} ${response.statusText}`);
  return body;
}

function query(parameters) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (Array.isArray(value)) value.forEach((v) => search.append(name, v));
    else if (value !== "" && value !== null && value !== undefined) search.append(name, value);
  }
  return search.toString();
}

function show(title, ...content) {
  document.title = title ? `${title} — hostpairs` : "hostpairs";
  main.replaceChildren(...content);
  main.focus({preventScroll: true});
}

function failure(error) {
  return h("p", {class: "error", role: "alert"}, error.message || String(error));
}

function section(title, ...content) {
  return h("section", {"aria-label": title}, h("h2", {}, title), ...content);
}

// A table whose columns sort on click (or Enter); `columns`: [label, value-of-row, render?, numeric?].
function table(columns, rows, caption) {
  let order = {index: -1, ascending: true};
  const body = h("tbody");
  const fill = () => {
    const sorted = order.index < 0 ? rows : [...rows].sort((a, b) => {
      const x = columns[order.index][1](a) ?? "", y = columns[order.index][1](b) ?? "";
      return (x < y ? -1 : x > y ? 1 : 0) * (order.ascending ? 1 : -1);
    });
    body.replaceChildren(...sorted.map((row) => h("tr", {}, columns.map(([, value, render, numeric]) =>
      h("td", {class: numeric ? "num" : null}, render ? render(row) : (value(row) ?? ""))))));
  };
  const head = h("tr", {}, columns.map(([label, , , numeric], index) => h("th", {scope: "col", class: numeric ? "num" : null},
    h("button", {class: "sort", type: "button", title: `Sort by ${label}`, onclick: () => {
      order = {index, ascending: order.index === index ? !order.ascending : true};
      fill();
    }}, label))));
  fill();
  if (!rows.length) return h("p", {class: "muted"}, `No ${caption.toLowerCase()}.`);
  return h("div", {class: "scroll"}, h("table", {}, h("caption", {class: "visually-hidden"}, caption), h("thead", {}, head), body));
}

function labelled(text, control) {
  return h("label", {}, text, control);
}

// --- search --------------------------------------------------------------------------------------

const KIND_ROUTES = {host: "host", domain: "host", ip: "ip", tracker: "tracker", cookie: "cookie"};

async function search(text) {
  show(`Search ${text}`, h("p", {class: "muted"}, "Searching…"));
  try {
    const found = await api(`/api/v1/search?${query({q: text})}`);
    if (found.choices.length === 1) {
      const [choice] = found.choices;
      location.hash = `#/${KIND_ROUTES[choice.kind]}/${enc(choice.value)}`;
      return;
    }
    show(`Search ${text}`, h("h1", {}, `“${text}”`),
      found.choices.length ? h("div", {}, h("p", {}, "This could be:"),
        h("ul", {class: "choices"}, found.choices.map((c) =>
          h("li", {}, h("a", {href: `#/${KIND_ROUTES[c.kind]}/${enc(c.value)}`}, `${c.label}: ${c.value}`)))))
        : h("p", {class: "muted"}, "Nothing hostpairs observed matches it."));
  } catch (error) {
    show("Search", failure(error));
  }
}

function home() {
  show("", h("h1", {}, "Pivot on what pages load"),
    h("p", {class: "muted"}, "Type a host, domain, IP address, tracker ID (UA-…, G-…, GTM-…) or cookie name above."));
  document.getElementById("q").focus();
}

// --- host / domain -------------------------------------------------------------------------------

async function hostPage(host) {
  show(host, h("h1", {}, host), h("p", {class: "muted"}, "Loading…"));
  let facts;
  try {
    facts = await api(`/api/v1/hosts/${enc(host)}`);
  } catch (error) {
    show(host, h("h1", {}, host), failure(error));
    return;
  }
  const pairs = h("div");
  const timeline = h("div");
  show(host, h("h1", {}, facts.host),
    h("p", {class: "muted"}, "Records of this host and its subdomains."),
    section("Resolutions", table([
      ["Host", (r) => r.hostname, (r) => hostLink(r.hostname)],
      ["IP", (r) => r.ip, (r) => ipLink(r.ip)],
      ["First seen", (r) => r.firstSeen], ["Last seen", (r) => r.lastSeen],
    ], facts.resolutions, "Resolutions")),
    section("Host pairs", pairs),
    section("Timeline", timeline),
    section("Trackers", table([
      ["Host", (t) => t.hostname, (t) => hostLink(t.hostname)],
      ["Type", (t) => t.attributeType], ["ID", (t) => t.attributeValue, (t) => trackerLink(t.attributeValue)],
      ["Also on", (t) => t.otherHosts, (t) => t.otherHosts
        ? h("a", {href: `#/tracker/${enc(t.attributeValue)}`}, `${t.otherHosts} other host${t.otherHosts > 1 ? "s" : ""}`) : "—", true],
      ["First seen", (t) => t.firstSeen], ["Last seen", (t) => t.lastSeen],
    ], facts.trackers, "Trackers")),
    section("Components", table([
      ["Host", (c) => c.hostname, (c) => hostLink(c.hostname)], ["Category", (c) => c.category], ["Label", (c) => c.label],
      ["Version", (c) => c.version], ["First seen", (c) => c.firstSeen], ["Last seen", (c) => c.lastSeen],
    ], facts.components, "Components")),
    section("Cookies", table([
      ["Host", (c) => c.hostname, (c) => hostLink(c.hostname)],
      ["Name", (c) => c.cookieName, (c) => h("a", {href: `#/cookie/${enc(c.cookieName)}`}, c.cookieName)],
      ["Domain", (c) => c.cookieDomain, (c) => hostLink(c.cookieDomain)],
      ["First seen", (c) => c.firstSeen], ["Last seen", (c) => c.lastSeen],
    ], facts.cookies, "Cookies")),
    section("Alerts naming it", alertTable(facts.alerts, null)),
    section("Visits", table([
      ["Started", (v) => v.started, (v) => h("a", {href: `#/visit/${v.id}`}, v.started)],
      ["URL", (v) => v.requestedUrl], ["Status", (v) => v.status, null, true], ["Error", (v) => v.error],
    ], facts.visits, "Visits")));
  pairsView(pairs, facts.host);
  timelineView(timeline, facts.host);
}

// Each call of the returned function starts a load that supersedes the ones before it, and returns a check
// that the load is still the latest: an older response arriving late is dropped, never shown over a newer one.
function superseding() {
  let latest = 0;
  return () => {
    const mine = ++latest;
    return () => mine === latest;
  };
}

const CAUSES = ["iframe.src", "iframe.write", "script.src", "img.src", "link.href", "css.import", "xmlhttprequest",
                "a.href", "topLevelRedirect", "redirect", "meta.refresh", "location.refresh", "unknown"];

function pairsView(container, host) {
  const direction = h("select", {}, h("option", {value: "parents"}, "who references it (parents)"),
                      h("option", {value: "children"}, "what it references (children)"));
  const cause = h("select", {}, h("option", {value: ""}, "any cause"), CAUSES.map((c) => h("option", {value: c}, c)));
  const start = h("input", {type: "date"});
  const end = h("input", {type: "date"});
  const results = h("div");
  const cursors = [null];
  let page = 0;
  let switched = false;
  const begin = superseding();
  const load = async () => {
    const current = begin();
    const asked = direction.value;
    results.replaceChildren(h("p", {class: "muted"}, "Loading…"));
    try {
      const found = await api(`/api/v1/pairs?${query({host, direction: asked, cause: cause.value ? [cause.value] : [],
                                                       start: start.value, end: end.value, limit: 100, cursor: cursors[page]})}`);
      if (!current()) return;
      if (!found.pairs.length && page === 0 && asked === "parents" && !cause.value && !start.value
          && !end.value && !switched) {
        switched = true;  // nobody references it: show what it references instead
        direction.value = "children";
        return load();
      }
      cursors[page + 1] = found.next;
      const previous = h("button", {type: "button", class: "secondary", disabled: page === 0,
                                    onclick: () => { page -= 1; load(); }}, "Previous page");
      const next = h("button", {type: "button", class: "secondary", disabled: !found.next,
                                onclick: () => { page += 1; load(); }}, "Next page");
      results.replaceChildren(table([
        ["Parent", (p) => p.parent, (p) => hostLink(p.parent)], ["Child", (p) => p.child, (p) => hostLink(p.child)],
        ["Cause", (p) => p.cause], ["First seen", (p) => p.firstSeen], ["Last seen", (p) => p.lastSeen],
        ["Visits", (p) => p.visitCount, null, true],
      ], found.pairs, "Host pairs"), h("div", {class: "pager"}, previous, h("span", {class: "muted"}, `page ${page + 1}`), next));
    } catch (error) {
      if (current()) results.replaceChildren(failure(error));
    }
  };
  const restart = () => { cursors.length = 1; page = 0; load(); };
  for (const control of [direction, cause, start, end]) control.addEventListener("change", restart);
  container.replaceChildren(h("div", {class: "filters"}, labelled("Direction", direction), labelled("Cause", cause),
                                  labelled("Seen from", start), labelled("Seen until", end)), results);
  load();
}

async function timelineView(container, host) {
  try {
    const found = await api(`/api/v1/hosts/${enc(host)}/timeline?days=30`);
    if (!found.rows.length) { container.replaceChildren(h("p", {class: "muted"}, "Nothing seen in the last 30 days.")); return; }
    container.replaceChildren(
      h("p", {class: "muted"}, "Each day a host pair or resolution was seen in a visit (light: within its first and last seen, the visits' evidence pruned)."),
      h("div", {class: "scroll"}, h("table", {class: "timeline"},
        h("caption", {class: "visually-hidden"}, "Timeline"),
        h("thead", {}, h("tr", {}, h("td", {class: "corner"}), found.days.map((d) => h("th", {class: "day", scope: "col"}, d.slice(5))))),
        h("tbody", {}, found.rows.map((row) => h("tr", {},
          h("th", {class: "row", scope: "row"}, row.label),
          row.seen.map((state, index) => h("td", {class: state || null, title: `${row.label} ${found.days[index]}: ${state ? "seen" : "not seen"}`}))))))));
  } catch (error) {
    container.replaceChildren(failure(error));
  }
}

// --- IP, tracker, cookie -------------------------------------------------------------------------

async function ipPage(ip) {
  show(ip, h("h1", {}, ip), h("p", {class: "muted"}, "Loading…"));
  try {
    const found = await api(`/v2/dns/passive?${query({query: ip})}`);
    show(ip, h("h1", {}, found.queryValue), h("p", {class: "muted"}, `${found.totalRecords} hosts resolved to it.`),
      section("Hosts", table([
        ["Host", (r) => r.resolve, (r) => hostLink(r.resolve)], ["First seen", (r) => r.firstSeen], ["Last seen", (r) => r.lastSeen],
      ], found.results, "Hosts")));
  } catch (error) {
    show(ip, h("h1", {}, ip), failure(error));
  }
}

async function entitiesPage(title, path, what) {
  show(title, h("h1", {}, title), h("p", {class: "muted"}, "Loading…"));
  try {
    const found = await api(path);
    show(title, h("h1", {}, title), h("p", {class: "muted"}, `${found.totalRecords} ${what}.`),
      section("Hosts", table([
        ["Host", (r) => r.entity, (r) => entityLink(r.entity)], ["First seen", (r) => r.firstSeen], ["Last seen", (r) => r.lastSeen],
      ], found.results, "Hosts")));
  } catch (error) {
    show(title, h("h1", {}, title), failure(error));
  }
}

// --- a visit -------------------------------------------------------------------------------------

function frameTree(frames) {
  const children = new Map();
  for (const frame of frames) {
    const key = frame.parentFrameId || "";
    if (!children.has(key)) children.set(key, []);
    children.get(key).push(frame);
  }
  const item = (frame) => h("li", {},
    frame.url ? h("span", {}, frame.url) : h("span", {class: "muted"}, "(no document)"),
    " ", frame.hidden ? h("span", {class: "badge hidden-frame"}, `hidden${frame.hiddenReasons ? ": " + frame.hiddenReasons : ""}`) : null,
    frame.createdByScript ? h("span", {class: "badge script"}, "created by script") : null,
    frame.creatorScriptUrl ? h("span", {class: "muted"}, ` by ${frame.creatorScriptUrl}`) : null,
    frame.detached ? h("span", {class: "badge"}, "detached") : null,
    (children.get(frame.frameId) || []).length ? h("ul", {}, children.get(frame.frameId).map(item)) : null);
  const roots = frames.filter((f) => !f.parentFrameId || !frames.some((p) => p.frameId === f.parentFrameId));
  return h("ul", {class: "tree"}, roots.map(item));
}

function redirectChains(dependencies) {
  const byUrl = new Map(dependencies.map((d) => [d.url, d]));
  const ends = dependencies.filter((d) => d.redirectedFrom && !dependencies.some((o) => o.redirectedFrom === d.url));
  return ends.map((end) => {
    const chain = [end.url];
    let current = end;
    while (current && current.redirectedFrom && chain.length < 25) {
      chain.unshift(current.redirectedFrom);
      current = byUrl.get(current.redirectedFrom);
    }
    return chain;
  });
}

async function visitPage(id) {
  show(`Visit ${id}`, h("h1", {}, `Visit ${id}`), h("p", {class: "muted"}, "Loading…"));
  let report;
  try {
    report = await api(`/api/v1/visits/${enc(id)}`);
  } catch (error) {
    show(`Visit ${id}`, h("h1", {}, `Visit ${id}`), failure(error));
    return;
  }
  const visit = report.visit;
  const deps = report.dependencies;
  const causeFilter = h("select", {}, h("option", {value: ""}, "any cause"),
                        [...new Set(deps.map((d) => d.cause))].sort().map((c) => h("option", {value: c}, c)));
  const typeFilter = h("select", {}, h("option", {value: ""}, "any type"),
                       [...new Set(deps.map((d) => d.resourceType))].sort().map((t) => h("option", {value: t}, t)));
  const hostFilter = h("input", {type: "search", placeholder: "host contains"});
  const depTable = h("div");
  const fillDeps = () => {
    const text = hostFilter.value.trim().toLowerCase();
    depTable.replaceChildren(table([
      ["URL", (d) => d.url], ["Type", (d) => d.resourceType], ["Cause", (d) => d.cause],
      ["Parent", (d) => d.parent, (d) => hostLink(d.parent)],
      ["Initiator", (d) => d.initiatorUrl || d.initiatorType], ["Status", (d) => d.status, null, true],
      ["IP", (d) => d.remoteIp, (d) => ipLink(d.remoteIp)], ["Error", (d) => d.error || d.certificateError],
    ], deps.filter((d) => (!causeFilter.value || d.cause === causeFilter.value)
                      && (!typeFilter.value || d.resourceType === typeFilter.value)
                      && (!text || (d.url || "").toLowerCase().includes(text))), "Dependencies"));
  };
  for (const control of [causeFilter, typeFilter, hostFilter]) control.addEventListener("input", fillDeps);
  fillDeps();
  const chains = redirectChains(deps);
  const certificateErrors = deps.filter((d) => d.certificateError);
  const marked = report.markedReferences;
  show(`Visit ${id}`, h("h1", {}, visit.requestedUrl),
    h("p", {class: "muted"}, `${visit.mode} visit ${visit.started} → ${visit.finalUrl}`,
      visit.status ? ` · status ${visit.status}` : "", visit.error ? ` · ${visit.error}` : "",
      visit.limitsHit.length ? ` · limits hit: ${visit.limitsHit.join(", ")}` : "",
      report.har ? h("span", {}, " · ", h("a", {href: report.har, download: `visit-${visit.id}.har`}, "Download HAR")) : "",
      report.scriptInventory ? h("span", {}, " · ", h("a", {href: `#/scripts/${enc(visit.requestedUrl)}`}, "Script inventory")) : ""),
    h("p", {}, report.previousVisit ? h("a", {href: `#/visit/${report.previousVisit}`}, "Previous visit of this URL") : "First visit of this URL",
      report.changes && (report.changes.added.length || report.changes.removed.length)
        ? h("span", {}, " · since then: ",
            report.changes.added.map((host) => h("span", {class: "badge high"}, `+ ${host}`)),
            report.changes.removed.map((host) => h("span", {class: "badge"}, `− ${host}`)))
        : report.previousVisit ? " · no host added or removed since" : ""),
    h("div", {class: "grid2"},
      section("Screenshot", report.screenshot
        ? h("img", {class: "shot", src: report.screenshot, alt: `The viewport of ${visit.requestedUrl} after the visit`})
        : h("p", {class: "muted"}, "No screenshot (static mode, screenshots off, or pruned).")),
      section("Frame tree", report.frames.length ? frameTree(report.frames) : h("p", {class: "muted"}, "No frames recorded."))),
    section("Redirect chains", chains.length
      ? h("ul", {}, chains.map((chain) => h("li", {}, chain.join(" → ")))) : h("p", {class: "muted"}, "No redirects.")),
    certificateErrors.length ? section("Certificate errors", h("ul", {}, certificateErrors.map((d) => h("li", {}, `${d.url}: ${d.certificateError}`)))) : null,
    section(`Dependencies (${deps.length})`, h("div", {class: "filters"}, labelled("Cause", causeFilter),
      labelled("Type", typeFilter), labelled("URL", hostFilter)), depTable),
    marked.length ? section(`Resource hints and parked scripts (${marked.length})`, table([
      ["URL", (r) => r.url], ["Cause", (r) => r.cause], ["Parent", (r) => r.parent, (r) => hostLink(r.parent)],
      ["Hint", (r) => r.hint], ["Declared type", (r) => r.declaredType],
    ], marked, "Resource hints and parked scripts")) : null);
}

// --- alerts and seed groups ------------------------------------------------------------------------

function alertTable(alerts, selected) {
  return table([
    ...(selected ? [["", (a) => a.id, (a) => h("input", {type: "checkbox", "aria-label": `Select alert ${a.id}`,
      checked: selected.has(a.id), onchange: (event) => event.target.checked ? selected.add(a.id) : selected.delete(a.id)})]] : []),
    ["Raised", (a) => a.timestamp, (a) => h("a", {href: `#/visit/${a.visit_id}`}, a.timestamp)],
    ["Severity", (a) => a.severity, (a) => h("span", {class: `badge ${a.severity}`}, a.severity)],
    ["Kind", (a) => a.kind], ["Page", (a) => a.page_url, (a) => h("span", {}, hostLink(a.page_host), h("br"), a.page_url)],
    ["Child", (a) => a.child_host, (a) => h("span", {}, hostLink(a.child_host), h("br"), a.child_url)],
    ["Signals", (a) => a.signals.join(", ")],
    ["Evidence", (a) => "", (a) => h("details", {}, h("summary", {}, "evidence"), h("pre", {}, JSON.stringify(a.evidence, null, 1)))],
    ["State", (a) => a.acknowledged ? "acknowledged" : "open"],
  ], alerts, "Alerts");
}

async function alertsPage() {
  const severity = h("select", {}, h("option", {value: ""}, "any"), ["low", "medium", "high", "critical"].map((s) => h("option", {value: s}, `${s} or worse`)));
  const open = h("input", {type: "checkbox", checked: true});
  const since = h("input", {type: "date"});
  const group = h("input", {type: "text", placeholder: "any"});
  const results = h("div");
  const status = h("p", {class: "muted", role: "status"});
  const selected = new Set();
  let shown = [];
  const begin = superseding();
  const load = async () => {
    const current = begin();
    selected.clear();
    try {
      const found = await api(`/api/v1/alerts?${query({severity: severity.value, open: open.checked, since: since.value,
                                                        seed_group: group.value.trim(), limit: 500})}`);
      if (!current()) return;
      shown = found.alerts;
      results.replaceChildren(alertTable(shown, selected));
    } catch (error) {
      if (current()) results.replaceChildren(failure(error));
    }
  };
  const acknowledge = async (ids) => {
    if (!ids.length) { status.textContent = "Select alerts first."; return; }
    try {
      await api("/api/v1/alerts/acknowledge", {method: "POST", headers: {"Content-Type": "application/json"},
                                               body: JSON.stringify({ids})});
      status.textContent = `Acknowledged ${ids.length} alert${ids.length > 1 ? "s" : ""}.`;
      await load();
    } catch (error) {
      status.textContent = error.message;
    }
  };
  for (const control of [severity, open, since, group]) control.addEventListener("change", load);
  show("Alerts", h("h1", {}, "Alerts"),
    h("div", {class: "filters"}, labelled("Severity", severity), labelled("Open only", open), labelled("Since", since),
      labelled("Seed group", group),
      h("button", {type: "button", onclick: () => acknowledge([...selected])}, "Acknowledge selected"),
      h("button", {type: "button", class: "secondary", onclick: () => acknowledge(shown.filter((a) => !a.acknowledged).map((a) => a.id))},
        "Acknowledge all shown")),
    status, results);
  await load();
}

async function seedsPage() {
  show("Seed groups", h("h1", {}, "Seed groups"), h("p", {class: "muted"}, "Loading…"));
  try {
    const found = await api("/api/v1/seed-groups");
    show("Seed groups", h("h1", {}, "Seed groups"),
      h("p", {class: "muted"}, found.watcher ? `Watcher on ${found.watcher.host} (${found.watcher.seedsFile}), last heartbeat ${found.watcher.lastBeat}.`
                                              : "No watcher has run on this database."),
      table([
        ["Group", (g) => g.name], ["Last started", (g) => g.lastStarted], ["Last finished", (g) => g.lastFinished],
        ["Next run", (g) => g.nextRun], ["Running", (g) => g.running ? `since ${g.runningSince}` : "no"],
      ], found.groups, "Seed groups"));
  } catch (error) {
    show("Seed groups", h("h1", {}, "Seed groups"), failure(error));
  }
}

async function scriptsPage(pageUrl) {
  const title = `Scripts of ${pageUrl}`;
  show(title, h("h1", {}, title), h("p", {class: "muted"}, "Loading…"));
  let found;
  try {
    found = await api(`/api/v1/scripts?${query({page: pageUrl})}`);
  } catch (error) {
    show(title, h("h1", {}, title), failure(error));
    return;
  }
  const scripts = found.scripts;
  const unauthorized = scripts.filter((s) => s.status === "unauthorized").length;
  show(title, h("h1", {}, title),
    h("p", {class: "muted"}, `${scripts.length} scripts ran on this payment page; ${unauthorized} not authorised. `,
      "Authorise with hostpairs scripts authorize; the audit report is hostpairs scripts report."),
    table([
      ["Script", (s) => s.script], ["Party", (s) => s.party], ["Loaded by", (s) => s.loadedBy.join(" ← ")],
      ["Integrity", (s) => s.integrity ? (s.integrityMatched ? "matched" : s.integrityMatched === false ? "MISMATCH" : "not checked") : "none"],
      ["Status", (s) => s.status, (s) => h("span", {class: s.status === "unauthorized" ? "badge high" : "badge"}, s.status)],
      ["Authorisation", (s) => s.authorization ? `#${s.authorization.id} ${s.authorization.authorizedBy}: ${s.authorization.justification}` : ""],
      ["Versions", (s) => s.versions.length, null, true], ["First seen", (s) => s.firstSeen], ["Last seen", (s) => s.lastSeen],
    ], scripts, "Scripts that ran on the page"));
}

// --- routing ---------------------------------------------------------------------------------------

function route() {
  routesTaken += 1;
  const [, page = "", ...rest] = location.hash.split("/");
  const value = decodeURIComponent(rest.join("/"));
  if (page === "host" && value) return hostPage(value);
  if (page === "ip" && value) return ipPage(value);
  if (page === "tracker" && value) return entitiesPage(value, `/v2/trackers/${enc(value)}/hosts`, "hosts seen with this tracker ID");
  if (page === "cookie" && value) return entitiesPage(`cookie ${value}`, `/v2/cookies/name/${enc(value)}/hosts`, "hosts that set this cookie");
  if (page === "visit" && value) return visitPage(value);
  if (page === "scripts" && value) return scriptsPage(value);
  if (page === "alerts") return alertsPage();
  if (page === "seeds") return seedsPage();
  if (page === "search" && value) return search(value);
  return home();
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = document.getElementById("q").value.trim();
  if (text) location.hash = `#/search/${enc(text)}`;
});
window.addEventListener("hashchange", route);
route();
