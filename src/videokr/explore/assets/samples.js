// The samples page: one card per eval row, every checkpoint's output and verdict; filters, flips, search.
// Cards are rendered PAGE at a time as the sentinel below them scrolls into view (IntersectionObserver), so a
// run of 10,000 rows filters in milliseconds and draws only what is looked at.
"use strict";

const PAGE = 40;
const data = window.VIDEOKR_DATA;
const samples = data.samples;
const models = data.models.map((m) => m.name);
const $ = (id) => document.getElementById(id);
let filtered = [];
let shown = 0;
let searchText = null; // lower-cased text per row, built on the first search

function fillSelect(select, values, allLabel, chosen) {
  const options = allLabel === null ? [] : [VK.el("option", {value: "", text: allLabel})];
  for (const value of values) options.push(VK.el("option", {value, text: value}));
  select.replaceChildren(...options);
  if (chosen !== undefined) select.value = chosen;
}

function distinct(field) {
  return [...new Set(samples.map((s) => s[field] || "unknown"))].sort();
}

function setup() {
  VK.nav("samples.html");
  fillSelect($("f-skill"), distinct("skill"), "all");
  fillSelect($("f-subject"), distinct("subject"), "all");
  fillSelect($("f-type"), distinct("problem_type"), "all");
  const last = models.filter((m) => !m.endsWith("_blank_video")).pop() || models[models.length - 1];
  fillSelect($("f-verdict-model"), models, null, last);
  const before = models.includes("sft") && last !== "sft" ? "sft" : models[0];
  fillSelect($("f-flip-a"), models, null, before);
  fillSelect($("f-flip-b"), models, null, last);
  for (const id of ["f-skill", "f-subject", "f-type", "f-verdict-model", "f-verdict", "f-flip-a", "f-flip-b",
    "f-flip"]) {
    $(id).addEventListener("change", apply);
  }
  let timer = null;
  $("f-search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(apply, 150); });
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) renderMore();
  }, {rootMargin: "600px"}).observe($("more"));
  apply();
}

function flipOf(sample, a, b) {
  const va = VK.verdict(sample.results[a]);
  const vb = VK.verdict(sample.results[b]);
  if (va === "wrong" && vb === "right") return "newly-right";
  if (va === "right" && vb === "wrong") return "newly-wrong";
  return "";
}

function rowText(sample) {
  const outputs = Object.values(sample.results).map((r) => r.prediction + " " + (r.extracted || ""));
  return [sample.id, sample.question, sample.answer, ...sample.options, ...outputs].join("\n").toLowerCase();
}

function apply() {
  const skill = $("f-skill").value, subject = $("f-subject").value, type = $("f-type").value;
  const vModel = $("f-verdict-model").value, verdict = $("f-verdict").value;
  const a = $("f-flip-a").value, b = $("f-flip-b").value, flip = $("f-flip").value;
  const query = $("f-search").value.trim().toLowerCase();
  if (query && searchText === null) searchText = samples.map(rowText);
  const base = [];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (skill && (s.skill || "unknown") !== skill) continue;
    if (subject && (s.subject || "unknown") !== subject) continue;
    if (type && (s.problem_type || "unknown") !== type) continue;
    if (verdict && VK.verdict(s.results[vModel]) !== verdict) continue;
    if (query && !searchText[i].includes(query)) continue;
    base.push(i);
  }
  // Flip counts are over the rows the other filters leave, so they answer "of these, what changed?".
  let newlyRight = 0, newlyWrong = 0;
  filtered = [];
  for (const i of base) {
    const f = flipOf(samples[i], a, b);
    if (f === "newly-right") newlyRight++;
    if (f === "newly-wrong") newlyWrong++;
    if (!flip || f === flip || (flip === "changed" && f)) filtered.push(i);
  }
  renderCounts(base, newlyRight, newlyWrong, a, b);
  $("cards").replaceChildren();
  shown = 0;
  renderMore();
}

function renderCounts(base, newlyRight, newlyWrong, a, b) {
  const counts = $("counts");
  counts.dataset.shown = filtered.length;
  counts.dataset.newlyRight = newlyRight;
  counts.dataset.newlyWrong = newlyWrong;
  const parts = [VK.el("span", {id: "count-shown"}, VK.el("b", {text: filtered.length}), " of " + samples.length +
    " rows")];
  for (const m of models) {
    let right = 0, scored = 0;
    for (const i of base) {
      const v = VK.verdict(samples[i].results[m]);
      if (v === "right") right++;
      if (v === "right" || v === "wrong") scored++;
    }
    parts.push(VK.el("span", {data: {model: m, right, scored}}, m + ": ", VK.el("b", {text: right}),
      " right of " + scored + " scored"));
  }
  parts.push(VK.el("span", {id: "count-flips"}, a + " → " + b + ": ", VK.el("b", {text: newlyRight}),
    " newly right, ", VK.el("b", {text: newlyWrong}), " newly wrong"));
  counts.replaceChildren(...parts);
}

function renderMore() {
  const end = Math.min(filtered.length, shown + PAGE);
  const fragment = document.createDocumentFragment();
  for (let k = shown; k < end; k++) fragment.append(card(samples[filtered[k]]));
  $("cards").append(fragment);
  shown = end;
  $("more").textContent = shown < filtered.length ? "showing " + shown + " of " + filtered.length + "…" :
    (filtered.length ? "end of the " + filtered.length + " rows" : "no row matches the filters");
}

function media(video) {
  const box = VK.el("div", {class: "media"});
  if (video.src) box.append(VK.el("video", {src: video.src, controls: "", preload: "none", muted: ""}));
  if (video.frames && video.frames.length) {
    box.append(VK.el("div", {class: "strip"}, ...video.frames.map((src) => VK.el("img", {src, alt: "frame"}))));
  }
  if (!video.src) {
    box.append(VK.el("div", {class: "missing",
      text: video.path ? "video not reachable: " + video.path : "no video in this row"}));
  }
  return box;
}

function splitReasoning(text) {
  const match = /<think>([\s\S]*?)<\/think>/i.exec(text);
  return match ? [match[1].trim(), (text.slice(0, match.index) + text.slice(match.index + match[0].length)).trim()]
    : ["", text.trim()];
}

function result(name, r, flip) {
  const v = VK.verdict(r);
  const box = VK.el("div", {class: "result " + v, data: {model: name, verdict: v}});
  const label = {right: "✓ right", wrong: "✗ wrong", unscored: "– not scored", missing: "no output"}[v];
  box.append(VK.el("div", {class: "head"}, VK.el("b", {text: name}),
    flip ? VK.el("span", {class: "badge", text: flip.replace("-", " ")}) : null,
    VK.el("span", {class: "verdict " + v, text: label})));
  if (!r) return box;
  box.append(VK.el("div", {}, "extracted: ", VK.el("code", {text: r.extracted === null ? "–" : r.extracted})));
  box.append(VK.el("div", {class: "how", text: (r.mode || "?") + ": " + (r.reason || "")}));
  const [reasoning, rest] = splitReasoning(r.prediction || "");
  if (reasoning) {
    box.append(VK.el("details", {}, VK.el("summary", {text: "reasoning (" + reasoning.length + " chars)"}),
      VK.el("pre", {text: reasoning})));
  }
  box.append(VK.el("pre", {class: "output", text: rest || "(empty output)"}));
  return box;
}

function card(s) {
  const a = $("f-flip-a").value, b = $("f-flip-b").value;
  const flip = flipOf(s, a, b);
  const badges = [s.skill, s.subject, s.problem_type, s.dataset].filter(Boolean).map(
    (t) => VK.el("span", {class: "badge", text: t}));
  const body = VK.el("div", {},
    VK.el("div", {class: "question", text: s.question}),
    s.options.length ? VK.el("ul", {class: "options"}, ...s.options.map((o) => VK.el("li", {text: o})))
      : null,
    VK.el("div", {class: "answer"}, "reference answer: ", VK.el("span", {text: s.answer})),
    s.problem ? VK.el("div", {class: "error", text: "unusable row: " + s.problem}) : null);
  return VK.el("article", {class: "card", data: {sampleId: s.id}},
    VK.el("header", {}, VK.el("span", {class: "id", text: s.id}), ...badges),
    media(s.video), body,
    VK.el("div", {class: "results"}, ...models.map((m) => result(m, s.results[m], m === b ? flip : ""))));
}

setup();
