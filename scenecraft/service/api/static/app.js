// scenecraft's web page: sign in with an API key, submit jobs from forms built from the
// pipelines' JSON schemas, watch them live over SSE, browse, compare and download results.
// Plain ES module, no build step. Nothing here writes HTML from strings: every node is built
// with the DOM API and every piece of text goes through textContent.

const KEY_STORE = "scenecraft.apiKey"; // sessionStorage only: gone when the tab closes
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
const STATES = ["queued", "running", "succeeded", "failed", "canceled"];
const PAGE_SIZE = 24;
const GALLERY_POLL_MS = 2000;
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif", "image/svg+xml"]);
const PREVIEW_TYPES = new Set(["image/png", "image/jpeg", "image/webp"]);

const main = document.getElementById("main");
const banner = document.getElementById("banner");

// ---------------------------------------------------------------------------------------------
// DOM and formatting helpers

function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const shortId = (id) => id.slice(0, 8);
const stateText = (state, cancelRequested) => (cancelRequested && !TERMINAL.has(state) ? "canceling" : state);
const pct = (step, total) => (total > 0 ? Math.max(0, Math.min(100, Math.round((100 * step) / total))) : 0);

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

function fmtValue(v) {
  if (typeof v === "number" && !Number.isInteger(v)) return String(Number(v.toPrecision(4)));
  return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
}

function natural(a, b) {
  return a.localeCompare(b, undefined, { numeric: true });
}

function showBanner(message) {
  banner.textContent = message;
  banner.hidden = !message;
}

// ---------------------------------------------------------------------------------------------
// The API: bearer key on every request; errors carry the ErrorBody {detail, errors[]}.

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
    this.retryAfter = retryAfter;
  }
}

const getKey = () => sessionStorage.getItem(KEY_STORE);

async function api(path, { method = "GET", body, headers = {}, signal, key = getKey() } = {}) {
  const init = { method, signal, headers: { Accept: "application/json", ...headers } };
  if (key) init.headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, { detail: "the server cannot be reached; check your connection" });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 300) };
  }
  if (!res.ok) {
    const err = new ApiError(res.status, normaliseError(data, res), res.headers.get("Retry-After"));
    if (res.status === 401 && key === getKey()) signOut("The API key was not accepted; sign in again.");
    throw err;
  }
  return data;
}

// FastAPI's own 422 body is {detail: [{loc, msg}]}; the service's is ErrorBody. Accept both.
function normaliseError(data, res) {
  if (data && Array.isArray(data.detail)) {
    return {
      detail: "some fields are not valid",
      errors: data.detail.map((e) => ({
        field: (e.loc || []).filter((p) => p !== "body").join("."),
        message: e.msg,
      })),
    };
  }
  if (data && typeof data.detail === "string") return data;
  return { detail: `${res.status} ${res.statusText}` };
}

function describe(err) {
  if (err.status === 429) {
    return `${err.message}${err.retryAfter ? ` (try again in ${err.retryAfter} s)` : ""}`;
  }
  return err.message;
}

// Artifacts need the bearer key too, so <img> gets blob: URLs; one fetch per artifact per page.
const blobs = new Map(); // url -> Promise<{url, blob}>

function artifactBlob(url) {
  if (!blobs.has(url)) {
    const p = (async () => {
      const res = await fetch(url, { headers: { Authorization: `Bearer ${getKey()}` } });
      if (!res.ok) throw new ApiError(res.status, { detail: `could not load ${url} (${res.status})` });
      const blob = await res.blob();
      return { url: URL.createObjectURL(blob), blob };
    })();
    p.catch(() => blobs.delete(url));
    blobs.set(url, p);
  }
  return blobs.get(url);
}

async function artifactJson(url) {
  const { blob } = await artifactBlob(url);
  return JSON.parse(await blob.text());
}

function forgetBlobs() {
  for (const p of blobs.values()) p.then(({ url }) => URL.revokeObjectURL(url)).catch(() => {});
  blobs.clear();
}

// Server-Sent Events over fetch (EventSource cannot send an Authorization header).
async function streamEvents(path, { onEvent, signal, lastId }) {
  const headers = { Accept: "text/event-stream", Authorization: `Bearer ${getKey()}` };
  if (lastId) headers["Last-Event-ID"] = lastId;
  const res = await fetch(path, { headers, signal, cache: "no-store" });
  if (!res.ok) throw new ApiError(res.status, normaliseError(await res.json().catch(() => null), res));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let ev = { type: "message", data: [], id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return lastId;
    buf += value;
    const lines = buf.split(/\r\n|\r|\n/);
    buf = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (ev.id !== null) lastId = ev.id;
        if (ev.data.length) onEvent(ev.type, ev.data.join("\n"), lastId);
        ev = { type: "message", data: [], id: null };
        continue;
      }
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") ev.type = val;
      else if (field === "data") ev.data.push(val);
      else if (field === "id") ev.id = val;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Routing: #/ (submit + gallery), #/jobs/<id> (one job). Each view gets an AbortSignal that
// fires when the user navigates away, which stops its streams and timers.

let viewAbort = new AbortController();

function route() {
  viewAbort.abort();
  viewAbort = new AbortController();
  const signal = viewAbort.signal;
  showBanner("");
  main.replaceChildren();
  const key = getKey();
  document.getElementById("account").hidden = !key;
  document.getElementById("who").textContent = key ? `key …${key.slice(-4)}` : "";
  const m = location.hash.match(/^#\/jobs\/([0-9a-f]{32})$/);
  document.title = !key ? "Sign in · scenecraft" : m ? `Job ${shortId(m[1])} · scenecraft` : "scenecraft";
  if (!key) return loginView();
  if (m) return jobView(m[1], signal);
  return homeView(signal);
}

function focusHeading() {
  const h1 = main.querySelector("h1");
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
  }
}

function signOut(message = "") {
  sessionStorage.removeItem(KEY_STORE);
  forgetBlobs();
  if (location.hash !== "#/") location.hash = "#/";
  route();
  if (message) showBanner(message);
}

document.getElementById("sign-out").addEventListener("click", () => signOut());
// only "#/..." addresses are views; others (the skip link's "#main") are in-page jumps
window.addEventListener("hashchange", () => {
  if (!location.hash || location.hash.startsWith("#/")) route();
});

// ---------------------------------------------------------------------------------------------
// Sign in

function loginView() {
  const error = h("p", { class: "error", id: "login-error", role: "alert" });
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "api-key-hint login-error",
  });
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", text: "Sign in" }),
    h("label", { for: "api-key", text: "API key" }),
    input,
    h("p", {
      id: "api-key-hint",
      class: "hint",
      text: "Kept in this tab's session storage only; closing the tab forgets it.",
    }),
    error,
    h("button", { type: "submit", class: "primary", text: "Sign in" }),
  );
  // Resubmitting the same request after a failure (e.g. 503 while Redis restarts) reuses its
  // Idempotency-Key, so a request that did get through is never queued twice.
  let attempt = { body: "", key: "" };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    error.textContent = "";
    if (!key) {
      error.textContent = "Enter an API key.";
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    try {
      await api("/v1/jobs?limit=1", { key });
    } catch (err) {
      error.textContent = err.status === 401 ? "That API key was not accepted." : describe(err);
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    sessionStorage.setItem(KEY_STORE, key);
    route();
  });
  main.append(form);
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Home: the submit form and the gallery

async function homeView(signal) {
  const formBox = h("section", { class: "card", "aria-labelledby": "new-title" });
  const gallery = h("section", { class: "gallery", "aria-labelledby": "jobs-title" });
  main.append(h("h1", { class: "visually-hidden", text: "scenecraft" }), formBox, gallery);
  let pipes = [];
  try {
    pipes = await api("/v1/pipelines", { signal });
  } catch (err) {
    if (err.name === "AbortError") return;
    formBox.append(h("p", { class: "error", role: "alert", text: `Pipelines: ${describe(err)}` }));
  }
  if (signal.aborted) return;
  jobForm(formBox, pipes);
  galleryView(gallery, pipes, signal);
}

// ---- JSON schema -> form fields --------------------------------------------------------------

// pydantic writes optional fields as anyOf [X, null] and enums as $refs; flatten both.
function resolveSchema(schema, defs) {
  let s = schema || {};
  if (s.$ref) s = { ...(defs[s.$ref.split("/").pop()] || {}), ...without(s, "$ref") };
  if (Array.isArray(s.allOf) && s.allOf.length === 1) {
    s = { ...resolveSchema(s.allOf[0], defs).s, ...without(s, "allOf") };
  }
  let nullable = false;
  if (Array.isArray(s.anyOf)) {
    const rest = s.anyOf.filter((x) => x.type !== "null");
    nullable = rest.length < s.anyOf.length;
    if (rest.length === 1) s = { ...resolveSchema(rest[0], defs).s, ...without(s, "anyOf") };
  }
  return { s, nullable };
}

function without(obj, key) {
  const { [key]: _, ...rest } = obj;
  return rest;
}

function fieldKind(s) {
  if (Array.isArray(s.enum) || "const" in s) return "enum";
  if (s.type === "boolean") return "boolean";
  if (s.type === "integer" || s.type === "number") return "number";
  if (s.type === "string") return "string";
  return "json"; // objects, arrays, unions: edited as JSON text
}

function limitsText(s) {
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum ?? s.exclusiveMaximum;
  const parts = [];
  if (lo !== undefined && hi !== undefined) parts.push(`${lo}–${hi}`);
  else if (lo !== undefined) parts.push(`at least ${lo}`);
  else if (hi !== undefined) parts.push(`at most ${hi}`);
  if (s.maxLength !== undefined) parts.push(`up to ${s.maxLength} characters`);
  if (s.maxItems !== undefined) parts.push(`up to ${s.maxItems} items`);
  return parts.join(", ");
}

// Text fields first (prompt above all), structured ones last, the seed at the very end.
function fieldRank(name, kind) {
  if (/prompt|instruction|text/.test(name)) return 0;
  if (name === "seed") return 4;
  return { string: 1, enum: 1, number: 2, boolean: 2, json: 3 }[kind];
}

// pydantic's own titles ("Step S"), for the fields it leaves untitled ($refs)
const titleOf = (name) => name.split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");

function jsonHint(s) {
  if (s.type === "object" && s.properties) return `JSON object with ${Object.keys(s.properties).join(", ")}`;
  if (s.type === "array") return "JSON list";
  return "JSON";
}

function buildField(name, schema, required, defs, idPrefix) {
  const { s, nullable } = resolveSchema(schema, defs);
  const title = schema.title || titleOf(name);
  const kind = fieldKind(s);
  const id = `${idPrefix}-${name}`;
  const hintId = `${id}-hint`;
  const errId = `${id}-error`;
  const path = `params.${name}`;
  const common = { id, name, "data-path": path, "data-kind": kind, "aria-describedby": `${hintId} ${errId}` };
  let control;
  if (kind === "enum") {
    const values = Array.isArray(s.enum) ? s.enum : [s.const];
    control = h("select", common);
    if (!required) control.append(h("option", { value: "", text: s.default != null ? `default (${s.default})` : "—" }));
    for (const v of values) control.append(h("option", { value: JSON.stringify(v), text: String(v) }));
  } else if (kind === "boolean") {
    control = h("input", { ...common, type: "checkbox", checked: s.default === true });
  } else if (kind === "number") {
    control = h("input", {
      ...common,
      type: "number",
      inputmode: s.type === "integer" ? "numeric" : "decimal",
      step: s.type === "integer" ? "1" : "any",
      min: s.minimum ?? s.exclusiveMinimum,
      max: s.maximum ?? s.exclusiveMaximum,
      placeholder: s.default != null ? String(s.default) : name === "seed" ? "random" : undefined,
    });
    if (s.default != null && name !== "seed") control.value = String(s.default);
  } else if (kind === "string") {
    control = h("input", {
      ...common,
      type: "text",
      maxlength: s.maxLength,
      minlength: s.minLength,
      pattern: s.pattern,
      autocomplete: "off",
    });
    if (typeof s.default === "string") control.value = s.default;
  } else {
    control = h("textarea", { ...common, rows: "3", spellcheck: "false", placeholder: "JSON" });
    if (s.default !== undefined && s.default !== null) control.value = JSON.stringify(s.default);
  }
  if (required) {
    control.required = true;
    control.setAttribute("aria-required", "true");
  }
  const label = h(
    "label",
    { for: id },
    title,
    required ? h("span", { class: "req", "aria-hidden": "true", text: " *" }) : null,
    required ? h("span", { class: "visually-hidden", text: " (required)" }) : null,
  );
  const hintParts = [
    s.description,
    limitsText(s),
    kind === "json" ? jsonHint(s) : "",
    nullable && !required ? "optional" : "",
  ];
  const hint = h("p", { class: "hint", id: hintId, text: hintParts.filter(Boolean).join(" · ") });
  const err = h("p", { class: "field-error", id: errId });
  const wrap = h("div", { class: `field field-${kind}`, "data-field": path });
  if (kind === "boolean") wrap.append(h("div", { class: "check" }, control, label), hint, err);
  else wrap.append(label, control, hint, err);
  return { wrap, rank: fieldRank(name, kind), kind };
}

function readField(el) {
  const kind = el.dataset.kind;
  if (kind === "boolean") return { value: el.checked };
  const raw = el.value.trim();
  if (raw === "") return null; // the server's default applies
  if (kind === "enum") return { value: JSON.parse(raw) };
  if (kind === "number") {
    const n = Number(raw);
    return { value: Number.isFinite(n) ? n : raw }; // let the server name what is wrong
  }
  if (kind === "json") {
    try {
      return { value: JSON.parse(raw) };
    } catch {
      return { value: raw };
    }
  }
  return { value: raw };
}

// ---- The form ---------------------------------------------------------------------------------

function jobForm(box, pipes) {
  box.append(h("h2", { id: "new-title", text: "New job" }));
  if (!pipes.length) {
    box.append(h("p", { class: "muted", text: "No pipelines are available." }));
    return;
  }
  const summary = h("div", { class: "error-summary", id: "form-errors", role: "alert", tabindex: "-1", hidden: true });
  const select = h("select", {
    id: "pipeline",
    name: "pipeline",
    "data-path": "pipeline",
    "aria-describedby": "pipeline-desc pipeline-error",
  });
  for (const p of pipes) select.append(h("option", { value: p.name, text: p.name }));
  const desc = h("p", { class: "hint", id: "pipeline-desc" });
  const fields = h("div", { class: "fields" });
  const advanced = h("div", { class: "fields" });
  const more = h("details", { class: "more" }, h("summary", { text: "More options" }), advanced);
  const priority = h("input", {
    id: "priority",
    name: "priority",
    type: "number",
    min: "0",
    max: "9",
    step: "1",
    value: "5",
    inputmode: "numeric",
    "data-path": "priority",
    "data-kind": "number",
    "aria-describedby": "priority-hint priority-error",
  });
  const submit = h("button", { type: "submit", class: "primary", text: "Submit job" });
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const form = h(
    "form",
    { id: "job-form", novalidate: true, "aria-describedby": "form-errors" },
    summary,
    h("div", { class: "field", "data-field": "pipeline" },
      h("label", { for: "pipeline", text: "Pipeline" }),
      select,
      desc,
      h("p", { class: "field-error", id: "pipeline-error" })),
    fields,
    more,
    h("div", { class: "actions" }, submit, status),
  );
  box.append(form);

  const draw = () => {
    const p = pipes.find((x) => x.name === select.value);
    desc.textContent = p.description || "";
    const schema = p.params_schema || {};
    const defs = schema.$defs || schema.definitions || {};
    const req = new Set(schema.required || []);
    const idPrefix = `f-${p.name.replace(/[^a-z0-9]/gi, "_")}`;
    const built = Object.entries(schema.properties || {})
      .map(([name, s], i) => {
        const required = req.has(name);
        return { ...buildField(name, s, required, defs, idPrefix), i, name, required };
      })
      .sort((a, b) => a.rank - b.rank || a.i - b.i);
    // required and simple fields up front; optional structured ones and the seed under "More"
    const upFront = (f) => f.name !== "seed" && (f.required || f.kind !== "json");
    fields.replaceChildren(...built.filter(upFront).map((f) => f.wrap));
    advanced.replaceChildren(
      ...built.filter((f) => !upFront(f)).map((f) => f.wrap),
      h("div", { class: "field", "data-field": "priority" },
        h("label", { for: "priority", text: "Priority" }), priority,
        h("p", { class: "hint", id: "priority-hint", text: "0–9, higher runs first among this key's jobs" }),
        h("p", { class: "field-error", id: "priority-error" })),
    );
    clearErrors(form, summary);
  };
  select.addEventListener("change", draw);
  draw();

  // Enter submits from any single-line field natively; Ctrl/Cmd+Enter also submits from JSON boxes.
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.tagName === "TEXTAREA") {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  // Resubmitting the same request after a failure (e.g. 503 while Redis restarts) reuses its
  // Idempotency-Key, so a request that did get through is never queued twice.
  let attempt = { body: "", key: "" };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form, summary);
    const params = {};
    for (const el of form.querySelectorAll("[data-path^='params.']")) {
      const v = readField(el);
      if (v) params[el.name] = v.value;
    }
    const body = { pipeline: select.value, params };
    const prio = readField(priority);
    if (prio) body.priority = prio.value;
    if (JSON.stringify(body) !== attempt.body) attempt = { body: JSON.stringify(body), key: crypto.randomUUID() };
    submit.disabled = true;
    status.textContent = "Submitting…";
    try {
      const job = await api("/v1/jobs", {
        method: "POST",
        body,
        headers: { "Idempotency-Key": attempt.key },
      });
      status.textContent = `Queued job ${shortId(job.id)}.`;
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      status.textContent = "";
      showErrors(form, summary, err);
    } finally {
      submit.disabled = false;
    }
  });
}

function clearErrors(form, summary) {
  summary.hidden = true;
  summary.replaceChildren();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
}

// The ErrorBody's field paths ("params.size") point at the inputs carrying the same data-path;
// a path inside a JSON field ("params.boxes.0.x") points at that field.
function inputFor(form, path) {
  for (let p = path; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
    const el = form.querySelector(`[data-path="${CSS.escape(p)}"]`);
    if (el) return el;
  }
  return null;
}
// The ErrorBody's field paths ("params.size") point at the inputs carrying the same data-path.
function showErrors(form, summary, err) {
  const list = h("ul");
  const errors = err.errors.length ? err.errors : [{ field: "", message: describe(err) }];
  for (const { field, message } of errors) {
    const input = inputFor(form, field.replace(/^.*?(?=params(\.|$))/, ""));
    const text = field ? `${field}: ${message}` : message;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      const slot = form.querySelector(`#${CSS.escape(input.id)}-error`);
      if (slot) slot.textContent = text;
      const details = input.closest("details");
      if (details) details.open = true;
      const jump = (e) => {
        e.preventDefault();
        input.focus();
      };
      list.append(h("li", {}, h("a", { href: `#${input.id}`, onclick: jump, text })));
    } else {
      list.append(h("li", { text }));
    }
  }
  const title = err.status === 422 || err.status === 400
    ? "The job was not accepted:"
    : `Could not submit (${err.status || "network"}):`;
  summary.replaceChildren(h("p", { class: "summary-title", text: title }), list);
  summary.hidden = false;
  summary.focus();
}

// ---- Gallery ----------------------------------------------------------------------------------

function galleryView(box, pipes, signal) {
  const option = (value, text = value) => h("option", { value, text });
  const statusSel = h("select", { id: "filter-status" }, option("", "Any state"), STATES.map((s) => option(s)));
  const pipeSel = h("select", { id: "filter-pipeline" }, option("", "Any pipeline"), pipes.map((p) => option(p.name)));
  const list = h("ul", { class: "cards", id: "job-list", "aria-busy": "true" });
  const more = h("button", { type: "button", class: "secondary", hidden: true, text: "Load more" });
  const note = h("p", { class: "muted", role: "status" });
  box.append(
    h("div", { class: "gallery-head" },
      h("h2", { id: "jobs-title", text: "Your jobs" }),
      h("form", { class: "filters", role: "search", "aria-label": "Filter jobs", onsubmit: (e) => e.preventDefault() },
        h("label", { for: "filter-status", text: "Filter by state" }), statusSel,
        h("label", { for: "filter-pipeline", text: "Filter by pipeline" }), pipeSel,
        h("button", { type: "button", class: "secondary", onclick: () => load(), text: "Refresh" }))),
    note,
    list,
    more,
  );

  let cursor = null;
  let timer = null;
  let generation = 0; // a reload retires the polling loop of the list it replaces
  const cards = new Map(); // id -> {li, job}

  async function load(append = false) {
    clearTimeout(timer);
    const gen = ++generation;
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (statusSel.value) q.set("status", statusSel.value);
    if (pipeSel.value) q.set("pipeline", pipeSel.value);
    if (append && cursor) q.set("cursor", cursor);
    list.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await api(`/v1/jobs?${q}`, { signal });
    } catch (err) {
      if (err.name !== "AbortError") note.textContent = describe(err);
      return;
    }
    if (gen !== generation) return;
    list.setAttribute("aria-busy", "false");
    if (!append) {
      list.replaceChildren();
      cards.clear();
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    for (const job of page.jobs) {
      const li = jobCard(job, () => load());
      cards.set(job.id, { li, job });
      list.append(li);
    }
    note.textContent = cards.size ? "" : "No jobs yet. Submit one above.";
    schedule(gen);
  }

  // while any job shown is still moving, refresh its card
  function schedule(gen) {
    const active = [...cards.values()].filter(({ job }) => !TERMINAL.has(job.state));
    if (!active.length || signal.aborted) return;
    timer = setTimeout(async () => {
      for (const { job } of active) {
        try {
          const fresh = await api(`/v1/jobs/${job.id}`, { signal });
          const old = cards.get(job.id);
          if (gen !== generation) return;
          if (!old) continue;
          if (fresh.state !== old.job.state || JSON.stringify(fresh.progress) !== JSON.stringify(old.job.progress)) {
            const li = jobCard(fresh, () => load());
            old.li.replaceWith(li);
            cards.set(job.id, { li, job: fresh });
          }
        } catch (err) {
          if (err.name === "AbortError") return;
        }
      }
      if (gen === generation) schedule(gen);
    }, GALLERY_POLL_MS);
  }

  statusSel.addEventListener("change", () => load());
  pipeSel.addEventListener("change", () => load());
  more.addEventListener("click", () => load(true));
  signal.addEventListener("abort", () => clearTimeout(timer));
  load();
}

function jobCard(job, reload) {
  const title = job.params?.prompt || job.params?.instruction || job.pipeline;
  const thumb = h("div", { class: "thumb", "aria-hidden": "true" });
  const img = thumbnailOf(job);
  if (img) {
    artifactBlob(img.url)
      .then(({ url }) => thumb.append(h("img", { src: url, alt: "" })))
      .catch(() => {});
  } else {
    thumb.append(h("span", { class: "thumb-state", text: job.state }));
  }
  const progress = job.progress && job.state === "running" ? job.progress : null;
  const li = h(
    "li",
    { class: `job-card state-${job.state}`, "data-job-id": job.id },
    h("a", { href: `#/jobs/${job.id}`, class: "card-link" }, thumb, h("span", { class: "card-title", text: title })),
    h("p", { class: "card-meta" },
      h("span", { class: `badge ${job.state}`, text: stateText(job.state, job.cancel_requested) }),
      " ", h("span", { class: "muted", text: `${job.pipeline} · ${shortId(job.id)}` })),
    progress
      ? h("progress", {
        max: 100,
        value: pct(progress.step, progress.total),
        "aria-label": `Progress of job ${shortId(job.id)}`,
      })
      : null,
    h("p", { class: "muted small", text: fmtTime(job.created_at) }),
  );
  if (!TERMINAL.has(job.state) && !job.cancel_requested) {
    li.append(cancelButton(job, reload));
  }
  return li;
}

function thumbnailOf(job) {
  const imgs = (job.artifacts || []).filter(isImage);
  return imgs.find((a) => a.name === "final.png") || imgs.find((a) => !/mask|slot/.test(a.name)) || imgs[0];
}

function cancelButton(job, after) {
  const btn = h("button", {
    type: "button",
    class: "danger",
    "aria-label": `Cancel job ${shortId(job.id)}`,
    text: "Cancel",
  });
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      await api(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
    } catch (err) {
      showBanner(`Cancel ${shortId(job.id)}: ${describe(err)}`);
    }
    after();
  });
  return btn;
}

// ---------------------------------------------------------------------------------------------
// One job: live status from the event stream, then the pipeline's own view of its artifacts.

async function jobView(id, signal) {
  const heading = h("h1", { text: `Job ${shortId(id)}` });
  const badge = h("span", { class: "badge", id: "job-state" });
  const stage = h("span", { id: "job-stage" });
  const bar = h("progress", { id: "job-progress", max: 100, "aria-labelledby": "progress-label" });
  const pctText = h("output", { id: "job-percent", for: "job-progress" });
  const preview = h("img", { id: "job-preview", alt: "Latest preview" });
  const previewCaption = h("figcaption", { class: "muted small" });
  const previewBox = h("figure", { class: "preview", hidden: true }, preview, previewCaption);
  const error = h("p", { class: "error", id: "job-error", role: "alert" });
  const controls = h("div", { class: "actions" });
  const results = h("div", { id: "job-results" });
  const info = h("div", { class: "job-info" });
  main.append(
    h("p", {}, h("a", { href: "#/", text: "← All jobs" })),
    h("div", { class: "job-head" }, heading, badge),
    h("section", { class: "card live", "aria-labelledby": "live-title" },
      h("h2", { id: "live-title", class: "visually-hidden", text: "Status" }),
      h("p", { id: "progress-label" }, "Progress", " ", stage),
      h("div", { class: "bar" }, bar, pctText),
      error,
      controls,
      previewBox),
    results,
    info,
  );
  focusHeading();

  let job;
  try {
    job = await api(`/v1/jobs/${id}`, { signal });
  } catch (err) {
    if (err.name === "AbortError") return;
    error.textContent = err.status === 404 ? `No job ${id} for this API key.` : describe(err);
    return;
  }
  heading.textContent = `Job ${shortId(id)} · ${job.pipeline}`;

  const live = { state: job.state, progress: job.progress, cancelRequested: job.cancel_requested };
  const paint = () => {
    const { state, progress } = live;
    badge.textContent = stateText(state, live.cancelRequested);
    badge.className = `badge ${state}`;
    const steps = progress?.total ? ` ${progress.step}/${progress.total}` : "";
    stage.textContent = state === "succeeded" ? "· done" : progress?.stage ? `· ${progress.stage}${steps}` : "";
    if (state === "succeeded") {
      bar.value = 100;
      pctText.textContent = "100%";
    } else if (progress?.total && state !== "queued") {
      // a failed or canceled job keeps its bar where it stopped
      bar.value = pct(progress.step, progress.total);
      pctText.textContent = `${bar.value}%`;
    } else if (state === "running") {
      bar.removeAttribute("value"); // indeterminate until a stage reports a total
      pctText.textContent = "";
    } else {
      bar.value = 0;
      pctText.textContent = state === "queued" ? "waiting" : "";
    }
    controls.replaceChildren();
    if (!TERMINAL.has(state) && !live.cancelRequested) {
      controls.append(cancelButton({ id }, () => refresh()));
    }
  };
  const finish = (fresh) => {
    job = fresh;
    live.state = fresh.state;
    // while running, events are newer than any snapshot; afterwards the record is final
    if (TERMINAL.has(fresh.state) || !live.progress) live.progress = fresh.progress;
    live.cancelRequested = fresh.cancel_requested;
    paint();
    error.textContent = fresh.error ? `${fresh.state === "canceled" ? "Stopped" : "Failed"}: ${fresh.error}` : "";
    error.classList.toggle("stopped", fresh.state === "canceled");
    if (TERMINAL.has(fresh.state) && !results.dataset.done) {
      results.dataset.done = "1"; // the result and final state events both ask for a refresh
      if (fresh.state === "succeeded") previewBox.hidden = true; // the results take its place
      renderResults(results, fresh);
    }
    renderInfo(info, fresh);
  };
  const refresh = async () => {
    try {
      finish(await api(`/v1/jobs/${id}`, { signal }));
    } catch (err) {
      if (err.name !== "AbortError") error.textContent = describe(err);
    }
  };
  finish(job);
  if (TERMINAL.has(job.state)) return;

  const onEvent = (type, raw) => {
    let data = {};
    try {
      data = JSON.parse(raw);
    } catch {
      return;
    }
    if (type === "state" && data.state) {
      live.state = data.state;
      refresh(); // timestamps, attempts, and at the end the artifacts
    }
    if (type === "progress" || type === "preview") {
      live.progress = { stage: data.stage, step: data.step, total: data.total };
      if (type === "preview" && PREVIEW_TYPES.has(data.media_type) && typeof data.data === "string") {
        preview.src = `data:${data.media_type};base64,${data.data}`;
        previewCaption.textContent = `Latest preview · ${data.stage || "run"} ${data.step}/${data.total}`;
        previewBox.hidden = false;
      }
    }
    if (type === "cancel_requested") live.cancelRequested = true;
    if (type === "result") refresh();
    paint();
  };

  // Follow the stream; if it drops before the job ends, reconnect from the last event seen.
  let lastId = null;
  for (let attempt = 0; !signal.aborted && !TERMINAL.has(live.state); attempt++) {
    try {
      lastId = await streamEvents(job.links?.events || `/v1/jobs/${id}/events`, { onEvent, signal, lastId });
      attempt = 0;
    } catch (err) {
      if (err.name === "AbortError") return;
      if (err.status === 404 || err.status === 401) return;
      if (attempt > 5) {
        error.textContent = `Live updates stopped: ${describe(err)}`;
        return;
      }
    }
    if (TERMINAL.has(live.state)) break;
    await new Promise((r) => setTimeout(r, 1000));
    await refresh();
  }
}

function renderInfo(box, job) {
  const rows = [
    ["Pipeline", job.pipeline],
    ["State", job.state],
    ["Created", fmtTime(job.created_at)],
    ["Started", fmtTime(job.started_at)],
    ["Finished", fmtTime(job.finished_at)],
    ["Attempts", String(job.attempts)],
    ["Seed", job.params?.seed != null ? String(job.params.seed) : ""],
  ].filter(([, v]) => v);
  const metrics = Object.entries(job.metrics || {});
  const opened = [...box.querySelectorAll("details")].map((d) => d.open); // keep what the reader opened
  box.replaceChildren(
    h("section", { class: "card", "aria-labelledby": "info-title" },
      h("h2", { id: "info-title", text: "Details" }),
      h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]),
        metrics.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: fmtValue(v) })])),
      h("details", {}, h("summary", { text: "Parameters" }), h("pre", { text: JSON.stringify(job.params, null, 1) })),
      Object.keys(job.record || {}).length
        ? h("details", {},
          h("summary", { text: "Reproduction record" }),
          h("pre", { text: JSON.stringify(job.record, null, 1) }))
        : null),
  );
  box.querySelectorAll("details").forEach((d, i) => {
    d.open = Boolean(opened[i]);
  });
}

// ---- Artifact views ---------------------------------------------------------------------------

const isImage = (a) => IMAGE_TYPES.has(a.media_type);
const isJson = (a) => a.media_type === "application/json" || a.name.endsWith(".json");
const IMG = /\.(png|jpe?g|webp|gif)$/i;

// What each pipeline's page puts side by side, keyed on the first dotted part of its name.
// Patterns rather than exact names, so extra or renamed artifacts still find a place; whatever a
// view does not claim is shown under "Other images", and every artifact is in "Files".
const VIEWS = {
  world: [
    { title: "Scene", panels: [
      { label: "Raster", match: /^final\.png$/, boxes: /^layout\.json$/ },
      { label: "SVG", match: /\.svg$/ },
      { label: "Instance masks", match: /mask.*\.png$/ },
    ] },
  ],
  svgcraft: [
    { title: "Layout, fused raster and SVG", panels: [
      { label: "Layout", match: /layout.*\.(png|jpe?g|webp)$/, boxes: /layout.*\.json$/, boxesOnly: /layout.*\.json$/ },
      { label: "Fused raster", match: /(fused|raster|diffusion).*\.(png|jpe?g|webp)$/ },
      { label: "Final SVG", match: /\.svg$/ },
      { label: "SVG rendered", match: /^final\.png$/ },
    ] },
  ],
  slate: [
    { title: "Image, slots and reconstruction", panels: [
      { label: "Image", match: /^input(_a)?\.(png|jpe?g|webp)$/ },
      { label: "Slot donor", match: /^input_b\.(png|jpe?g|webp)$/ },
      { label: (job) => (job.params?.mode === "compose" ? "Composition" : "Reconstruction"), match: /^final\.png$/ },
      { label: "dVAE reconstruction", match: /dvae/ },
      { label: "Slots", match: /^segmentation/, each: true },
    ] },
    { title: "Slot masks", panels: [{ label: "Slot", match: /(slot|mask)/, each: true }] },
    { title: "Compositions", panels: [{ label: "Composition", match: /compos/, each: true }] },
  ],
  vectorize: [
    { title: "Target and fitted SVG", panels: [
      { label: "Target", match: /^target\.(png|jpe?g|webp)$/ },
      { label: "Fitted SVG", match: /\.svg$/ },
      { label: "SVG rendered", match: /^final\.png$/ },
    ] },
  ],
  sld: "rounds",
};

// Built off-page and swapped in at the end, so overlapping refreshes never interleave.
async function renderResults(box, job) {
  const artifacts = [...(job.artifacts || [])].sort((a, b) => natural(a.name, b.name));
  const out = [];
  if (artifacts.length) {
    const view = VIEWS[job.pipeline.split(".")[0]];
    const claimed = new Set();
    if (view === "rounds") out.push(await roundsView(job, artifacts, claimed));
    else if (view) for (const section of view) out.push(await sectionView(job, section, artifacts, claimed));
    const rest = artifacts.filter((a) => isImage(a) && !claimed.has(a.name));
    if (rest.length) out.push(panelRow(view ? "Other images" : "Images", rest.map((a) => figure(job, a, a.name))));
    out.push(filesTable(job, artifacts));
  }
  box.replaceChildren(...out);
}

async function sectionView(job, section, artifacts, claimed) {
  const figs = [];
  for (const panel of section.panels) {
    const hits = artifacts.filter((a) => !claimed.has(a.name) && isImage(a) && panel.match.test(a.name));
    const boxesArt = panel.boxes && artifacts.find((a) => isJson(a) && panel.boxes.test(a.name));
    const sets = boxesArt ? await boxSetsOf(boxesArt) : null;
    const label = typeof panel.label === "function" ? panel.label(job) : panel.label;
    for (const a of panel.each ? hits : hits.slice(0, 1)) {
      claimed.add(a.name);
      figs.push(figure(job, a, panel.each && hits.length > 1 ? captionOf(a.name) : label, sets));
    }
    if (!hits.length && panel.boxesOnly && sets) {
      figs.push(boxesFigure(job, panel.label, sets));
    }
  }
  return figs.length ? panelRow(section.title, figs) : document.createTextNode("");
}

// SLD: the initial image and each correction round side by side, boxes drawn over each image
// and the round's edit ops listed under it. Rounds are found by name: initial*, round<N>*, final*.
async function roundsView(job, artifacts, claimed) {
  const groups = new Map(); // order -> {title, items[]}
  const place = (a) => {
    const m = a.name.match(/round[_-]?(\d+)/i);
    if (m) return [Number(m[1]), `Round ${Number(m[1])}`];
    if (/^(initial|input|original|source)/i.test(a.name)) return [-1, "Initial"];
    if (/^(final|output)/i.test(a.name)) return [1e9, "Final"];
    return null;
  };
  for (const a of artifacts) {
    const p = place(a);
    if (!p) continue;
    if (!groups.has(p[0])) groups.set(p[0], { title: p[1], items: [] });
    groups.get(p[0]).items.push(a);
  }
  const figs = [];
  for (const [, g] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
    const image = g.items.find((a) => isImage(a) && IMG.test(a.name) && !/mask/.test(a.name)) || g.items.find(isImage);
    const jsons = g.items.filter(isJson);
    const sets = [];
    const ops = [];
    for (const j of jsons) {
      const data = await artifactJson(j.url).catch(() => null);
      if (!data) continue;
      sets.push(...boxSets(data));
      ops.push(...findOps(data));
    }
    if (!image && !sets.length && !ops.length) continue;
    for (const a of g.items) claimed.add(a.name);
    const fig = image ? figure(job, image, g.title, sets) : boxesFigure(job, g.title, sets);
    if (ops.length) fig.append(opsList(ops));
    else if (jsons.length && g.title.startsWith("Round")) {
      fig.append(h("p", { class: "muted small", text: "No edits." }));
    }
    figs.push(fig);
  }
  const legend = h("p", { class: "legend muted small" },
    h("span", { class: "swatch detected" }), " detected ", h("span", { class: "swatch proposed" }), " proposed");
  const row = panelRow("Rounds", figs, { row: true });
  if (figs.length) row.insertBefore(legend, row.children[1]);
  return row;
}

// "slot_3.png" -> "Slot 3", "segmentation_a.png" -> "Segmentation a"
function captionOf(name) {
  const base = name.replace(/\.\w+$/, "").replace(/[_-]+/g, " ");
  return base.charAt(0).toUpperCase() + base.slice(1);
}

// Panels wrap, except a row of rounds, which scrolls sideways so they stay side by side.
function panelRow(title, figs, { row = false } = {}) {
  const panels = h("div", { class: `panels${row ? " row" : ""}${figs.length > 4 ? " many" : ""}` }, figs);
  if (row) {
    // a scrolling region must be reachable from the keyboard
    panels.tabIndex = 0;
    panels.setAttribute("role", "group");
    panels.setAttribute("aria-label", `${title}, side by side`);
  }
  return h("section", { class: "panel-section" }, h("h2", { text: title }), panels);
}

function figure(job, a, caption, sets = null) {
  const img = h("img", { alt: `${caption} (${a.name})`, "data-artifact": a.name, decoding: "async" });
  // SVG is only ever shown through <img>: scripts inside it cannot run there.
  artifactBlob(a.url)
    .then(({ url }) => {
      if (/mask/i.test(a.name) && a.media_type === "image/png") {
        img.addEventListener("load", () => colourLabels(img), { once: true });
      }
      img.src = url;
    })
    .catch((err) => img.replaceWith(h("p", { class: "error", text: describe(err) })));
  const frame = h("div", { class: "frame" }, img);
  if (sets?.length) drawBoxes(frame, sets);
  return h(
    "figure",
    { class: "panel" },
    frame,
    h("figcaption", {}, h("span", { text: caption }), " ", downloadLink(job, a)),
    sets?.length ? boxesText(sets) : null,
  );
}

// An instance mask stores object k as grey level k, which reads as black; give each id a colour.
// Soft masks (many grey levels) are left as they are.
const LABEL_COLOURS = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128]];

function colourLabels(img) {
  const c = document.createElement("canvas");
  c.width = img.naturalWidth;
  c.height = img.naturalHeight;
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, c.width, c.height);
  const d = px.data;
  let max = 0;
  for (let i = 0; i < d.length; i += 4) max = Math.max(max, d[i]);
  if (max === 0 || max > 32) return;
  for (let i = 0; i < d.length; i += 4) {
    const v = d[i];
    const [r, gg, b] = v === 0 ? LABEL_COLOURS[0] : LABEL_COLOURS[1 + ((v - 1) % (LABEL_COLOURS.length - 1))];
    d[i] = r;
    d[i + 1] = gg;
    d[i + 2] = b;
    d[i + 3] = 255;
  }
  g.putImageData(px, 0, 0);
  img.src = c.toDataURL("image/png");
  img.classList.add("labels");
}

function boxesFigure(job, caption, sets) {
  const frame = h("div", { class: "frame blank", role: "img", "aria-label": `${caption}: boxes only` });
  const w = job.params?.width || job.params?.size || 1;
  const ht = job.params?.height || job.params?.size || 1;
  frame.style.aspectRatio = `${w} / ${ht}`;
  drawBoxes(frame, sets);
  return h("figure", { class: "panel" }, frame, h("figcaption", {}, h("span", { text: caption })), boxesText(sets));
}

function drawBoxes(frame, sets) {
  for (const set of sets) {
    for (const item of set.items) {
      const [x, y, w, ht] = item.box;
      const el = h("div", { class: `box ${set.kind}`, "aria-hidden": "true" }, h("span", { text: item.label || "" }));
      const at = (v) => `${v * 100}%`;
      Object.assign(el.style, { left: at(x), top: at(y), width: at(w), height: at(ht) });
      frame.append(el);
    }
  }
}

const fmtBox = (b) => `[${b.map((v) => Number(v).toFixed(2)).join(", ")}]`;

// The boxes as text too: what the overlay shows must not be visual only.
function boxesText(sets) {
  const line = (kind, it) => {
    const score = it.score != null ? ` score ${Number(it.score).toFixed(2)}` : "";
    return `${kind}: ${it.label || "?"} ${fmtBox(it.box)}${score}`;
  };
  return h("details", { class: "boxes-text" },
    h("summary", { text: sets.map((s) => `${s.items.length} ${s.kind}`).join(", ") }),
    h("ul", {}, sets.flatMap((s) => s.items.map((it) => h("li", { text: line(s.kind, it) })))));
}

function opsList(ops) {
  return h("ol", { class: "ops" }, ops.map((op) => {
    const parts = [op.op, op.label];
    if (op.new_label) parts.push(`→ ${op.new_label}`);
    if (op.old_box && op.new_box) parts.push(`${fmtBox(op.old_box)} → ${fmtBox(op.new_box)}`);
    else if (op.new_box || op.old_box) parts.push(fmtBox(op.new_box || op.old_box));
    return h("li", { class: `op op-${op.op}`, text: parts.filter(Boolean).join(" ") });
  }));
}

async function boxSetsOf(a) {
  const data = await artifactJson(a.url).catch(() => null);
  return data ? boxSets(data) : null;
}

// Any list of {label?, box:[x,y,w,h]} in a JSON artifact is a box set; its key says which kind.
function boxSets(data) {
  const out = [];
  const isBox = (b) => Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === "number");
  const walk = (node, key) => {
    if (Array.isArray(node)) {
      const items = node.filter((x) => x && typeof x === "object" && isBox(x.box) && typeof x.op !== "string");
      if (items.length) {
        out.push({ kind: /detect|found|observed|before/i.test(key) ? "detected" : "proposed", key, items });
        return;
      }
      node.forEach((x) => walk(x, key));
    } else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) walk(v, k);
    }
  };
  walk(data, "");
  return out;
}

function findOps(data) {
  const out = [];
  const walk = (node) => {
    if (Array.isArray(node)) {
      if (node.length && node.every((x) => x && typeof x === "object" && typeof x.op === "string")) out.push(...node);
      else node.forEach(walk);
    } else if (node && typeof node === "object") Object.values(node).forEach(walk);
  };
  walk(data);
  return out;
}

function downloadName(job, a) {
  return `${shortId(job.id)}-${a.name.replace(/[^\w.-]+/g, "_")}`;
}

// A real <a download>: the bytes are fetched with the key on first click, then handed over.
function downloadLink(job, a) {
  const ext = a.name.split(".").pop().toUpperCase();
  const link = h("a", {
    class: "download",
    href: a.url,
    download: downloadName(job, a),
    "aria-label": `Download ${a.name}`,
    text: `Download ${ext}`,
  });
  link.addEventListener("click", async (e) => {
    if (link.href.startsWith("blob:")) return;
    e.preventDefault();
    try {
      const { url } = await artifactBlob(a.url);
      link.href = url;
      link.click();
    } catch (err) {
      showBanner(describe(err));
    }
  });
  return link;
}

function filesTable(job, artifacts) {
  return h("section", { class: "card files", "aria-labelledby": "files-title" },
    h("h2", { id: "files-title", text: "Files" }),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Name" }), h("th", { scope: "col", text: "Type" }),
        h("th", { scope: "col", text: "Size" }), h("th", { scope: "col", text: "" }))),
      h("tbody", {}, artifacts.map((a) => h("tr", {},
        h("th", { scope: "row", text: a.name }), h("td", { text: a.media_type }), h("td", { text: fmtBytes(a.size) }),
        h("td", {}, downloadLink(job, a)))))));
}

route();
