// The review page: accept / reject / edit the items of a `videokr build review export` file, from the keyboard.
// Opened from disk, it reads the file the user picks or drops and offers the verdicts as a download; served by
// `videokr explore --serve --review FILE`, it loads FILE from /api/review and POSTs each verdict to
// /api/verdicts, which saves FILE.verdicts.jsonl. Verdict lines: {review_id, verdict, item (edit only), note?}.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {items: [], verdicts: new Map(), index: 0, server: false, fileName: "review.jsonl", editing: false};

function parseExport(text) {
  const items = [], errors = [], seen = new Map();
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let value;
    try { value = JSON.parse(line); } catch (e) { errors.push("line " + (i + 1) + ": not JSON (" + e.message + ")"); return; }
    const why = checkItem(value);
    if (why) { errors.push("line " + (i + 1) + ": " + why); return; }
    if (seen.has(value.review_id)) {
      errors.push("line " + (i + 1) + ": review_id " + JSON.stringify(value.review_id) + " already on line " +
        seen.get(value.review_id));
      return;
    }
    seen.set(value.review_id, i + 1);
    items.push(value);
  });
  return {items, errors};
}

function checkItem(value) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "expected a JSON object";
  for (const key of ["review_id", "step", "model", "item"]) if (!(key in value)) return "missing field " + key;
  if (typeof value.review_id !== "string" || !value.review_id) return "review_id must be a non-empty string";
  if (typeof value.step !== "string" || typeof value.model !== "string") return "step and model must be strings";
  return "";
}

function start(items, verdicts, fileName) {
  state.items = items;
  state.fileName = fileName;
  state.verdicts = new Map(verdicts.map((v) => [v.review_id, v]));
  const firstOpen = items.findIndex((it) => !state.verdicts.has(it.review_id));
  state.index = firstOpen < 0 ? 0 : firstOpen;
  $("file-name").textContent = fileName;
  $("review").hidden = items.length === 0;
  $("open").classList.add("compact");
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  if (!items.length) $("load-errors").textContent += "\nthe file holds no items";
  show();
}

function show() {
  const item = state.items[state.index];
  if (!item) return;
  const decided = state.items.filter((it) => state.verdicts.has(it.review_id)).length;
  $("progress").textContent = decided + " of " + state.items.length + " decided";
  $("progress").dataset.decided = decided;
  $("position").textContent = (state.index + 1) + " / " + state.items.length;
  $("item-title").textContent = item.review_id + " · step " + item.step + " · model " + item.model;
  const v = state.verdicts.get(item.review_id);
  $("item").textContent = JSON.stringify(current(item), null, 2);
  $("item").dataset.reviewId = item.review_id;
  $("current-verdict").textContent = v ? "decided: " + v.verdict + (v.verdict === "edit" ? " (edited item shown)" : "")
    : "undecided";
  $("current-verdict").className = v ? "decided-" + v.verdict : "muted";
  $("note").value = v && v.note ? v.note : "";
  closeEditor();
}

async function decide(verdict, edited) {
  const item = state.items[state.index];
  if (!item) return;
  const line = {review_id: item.review_id, verdict};
  if (verdict === "edit") line.item = edited;
  const note = $("note").value.trim();
  if (note) line.note = note;
  state.verdicts.set(item.review_id, line);
  if (state.server) await post(line);
  if (state.index < state.items.length - 1) state.index++;
  show();
}

async function post(line) {
  try {
    const response = await fetch("/api/verdicts", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(line)});
    const reply = await response.json();
    if (!response.ok) throw new Error(reply.error || response.statusText);
    $("save-status").textContent = "saved: " + reply.decided + " verdicts in " + reply.file;
    $("save-status").dataset.saved = reply.decided;
  } catch (e) {
    $("save-status").textContent = "NOT saved (" + e.message + "): use Download verdicts";
    $("save-status").className = "error";
  }
}

// The item as it stands: the expert's edit when there is one, else the exported item.
function current(item) {
  const v = state.verdicts.get(item.review_id);
  return v && v.verdict === "edit" ? v.item : item.item;
}

function openEditor() {
  const item = state.items[state.index];
  if (!item) return;
  state.editing = true;
  $("editor").hidden = false;
  $("edit-error").textContent = "";
  $("edit-text").value = JSON.stringify(current(item), null, 2);
  $("edit-text").focus();
}

function closeEditor() {
  state.editing = false;
  $("editor").hidden = true;
}

function saveEdit() {
  let edited;
  try { edited = JSON.parse($("edit-text").value); } catch (e) {
    $("edit-error").textContent = "not valid JSON: " + e.message;
    return;
  }
  const original = state.items[state.index].item;
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(original) && !isObject(edited)) {  // `build review import` takes an edited sample as an object
    $("edit-error").textContent = "the edited item must stay a JSON object {...}";
    return;
  }
  decide("edit", edited);
}

function move(step) {
  state.index = Math.max(0, Math.min(state.items.length - 1, state.index + step));
  show();
}

function download() {
  const lines = state.items.filter((it) => state.verdicts.has(it.review_id))
    .map((it) => JSON.stringify(state.verdicts.get(it.review_id)) + "\n");
  const link = VK.el("a", {href: URL.createObjectURL(new Blob(lines, {type: "application/x-ndjson"})),
    download: state.fileName + ".verdicts.jsonl"});
  document.body.append(link);
  link.click();
  link.remove();
}

// Shortcuts are off while typing in a field; the file picker is no text field (focus may return to it after a pick).
function isTyping(target) {
  if (target.tagName === "INPUT") return target.type !== "file";
  return ["TEXTAREA", "SELECT"].includes(target.tagName);
}

function onKey(event) {
  if (!state.items.length || event.altKey || event.metaKey) return;
  if (state.editing) {
    if (event.key === "Enter" && event.ctrlKey) { event.preventDefault(); saveEdit(); }
    if (event.key === "Escape") { event.preventDefault(); closeEditor(); }
    return;
  }
  if (event.ctrlKey || isTyping(event.target)) return;
  const actions = {a: () => decide("accept"), r: () => decide("reject"), e: openEditor,
    j: () => move(1), ArrowDown: () => move(1), ArrowRight: () => move(1),
    k: () => move(-1), ArrowUp: () => move(-1), ArrowLeft: () => move(-1)};
  const action = actions[event.key];
  if (action) { event.preventDefault(); action(); }
}

function readFile(file) {
  file.text().then((text) => {
    const parsed = parseExport(text);
    $("load-errors").textContent = parsed.errors.length ? parsed.errors.length + " bad line(s) left out:\n" +
      parsed.errors.join("\n") : "";
    start(parsed.items, [], file.name);
  });
}

async function setup() {
  VK.nav("review.html");
  document.addEventListener("keydown", onKey);
  $("accept").addEventListener("click", () => decide("accept"));
  $("reject").addEventListener("click", () => decide("reject"));
  $("edit").addEventListener("click", openEditor);
  $("save-edit").addEventListener("click", saveEdit);
  $("cancel-edit").addEventListener("click", closeEditor);
  $("prev").addEventListener("click", () => move(-1));
  $("next").addEventListener("click", () => move(1));
  $("download").addEventListener("click", download);
  $("file").addEventListener("change", (e) => { if (e.target.files[0]) readFile(e.target.files[0]); });
  const drop = $("open");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) readFile(e.dataTransfer.files[0]);
  });
  if (location.protocol.startsWith("http")) {
    const response = await fetch("/api/review");
    const payload = response.ok ? await response.json() : {items: null};
    if (payload.items) {
      state.server = true;
      $("open").hidden = true;
      $("save-status").textContent = "verdicts are saved by the server as you decide";
      start(payload.items, payload.verdicts, payload.file);
    }
  }
  document.body.dataset.ready = "1";
}

setup();
