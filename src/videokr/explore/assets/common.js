// videokr explorer: helpers shared by the pages (no framework, no network).
"use strict";

const VK = {
  // el("div", {class: "x", text: "t", data: {sampleId: "1"}}, child, ...): one DOM element.
  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "data") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },

  nav(active) {
    const data = window.VIDEOKR_DATA;
    const title = data ? "videokr · " + data.run.name : "videokr";
    const pages = [["index.html", "Run"], ["samples.html", "Samples"], ["review.html", "Review"]];
    const links = pages.map(([href, label]) =>
      VK.el("a", {href, text: label, class: href === active ? "active" : null}));
    document.getElementById("nav").replaceChildren(VK.el("span", {class: "title", text: title}), ...links);
  },

  pct(value) { return value === null || value === undefined ? "–" : value.toFixed(1); },

  seconds(value) {
    if (value === null || value === undefined) return "–";
    if (value < 90) return value.toFixed(0) + " s";
    if (value < 5400) return (value / 60).toFixed(1) + " min";
    return (value / 3600).toFixed(1) + " h";
  },

  // "right" | "wrong" | "unscored" for one model's result on a row.
  verdict(result) {
    if (!result) return "missing";
    return result.correct === true ? "right" : result.correct === false ? "wrong" : "unscored";
  },
};
