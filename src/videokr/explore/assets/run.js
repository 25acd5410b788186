// The run page: stages from the manifest, metrics per checkpoint and group, training curves, checkpoints.
"use strict";

const BREAKDOWNS = [["by_skill", "skill"], ["by_subject", "subject"], ["by_problem_type", "question type"],
  ["by_dataset", "dataset"]];

function stageTable(stages) {
  if (!stages.length) return VK.el("p", {class: "muted", text: "No manifest.json: no stage has run."});
  const head = VK.el("tr", {}, ...["stage", "status", "started", "ended", "time", "files"].map(
    (h) => VK.el("th", {text: h})));
  const rows = stages.map((s) => VK.el("tr", {data: {stage: s.name}},
    VK.el("td", {text: s.name}),
    VK.el("td", {class: "status-" + s.status, text: s.status + (s.error ? ": " + s.error : "")}),
    VK.el("td", {text: s.started || "–"}), VK.el("td", {text: s.ended || "–"}),
    VK.el("td", {class: "num", text: VK.seconds(s.seconds)}),
    VK.el("td", {class: "links"}, ...s.links.map((l) => VK.el("a", {href: l.href, text: l.label})))));
  return VK.el("table", {id: "stages"}, head, ...rows);
}

function cell(group) {
  if (!group) return "–";
  return VK.pct(group.accuracy) + " (" + (group.n_scored || 0) + "/" + (group.n || 0) + ")";
}

function metricsTable(id, models, metrics, key) {
  const groups = [];
  for (const name of models) {
    for (const group of Object.keys((key ? metrics[name][key] : null) || {})) {
      if (!groups.includes(group)) groups.push(group);
    }
  }
  const rows = key ? groups : ["all"];
  const pick = (name, group) => key ? (metrics[name][key] || {})[group] : metrics[name];
  const head = VK.el("tr", {}, VK.el("th", {text: "group"}), ...models.map((m) => VK.el("th", {text: m})));
  const body = rows.map((group) => VK.el("tr", {}, VK.el("td", {text: group}),
    ...models.map((m) => VK.el("td", {class: "num", text: cell(pick(m, group))}))));
  return VK.el("table", {id}, head, ...body);
}

function render() {
  const data = window.VIDEOKR_DATA;
  VK.nav("index.html");
  const main = document.getElementById("run");
  const models = data.models.map((m) => m.name).filter((m) => data.metrics[m] && "n" in data.metrics[m]);
  main.append(VK.el("h1", {text: "Run " + data.run.name}),
    VK.el("p", {class: "muted", text: data.run.dir + " · explorer written " + data.run.written}),
    VK.el("h2", {text: "Stages"}), stageTable(data.stages));
  main.append(VK.el("h2", {text: "Metrics"}));
  if (!models.length) {
    main.append(VK.el("p", {class: "muted", text: "No evaluation results yet."}));
  } else {
    main.append(VK.el("p", {class: "muted",
      text: "Accuracy in percent over scored rows (scored / rows in brackets)."}),
    metricsTable("metrics-overall", models, data.metrics, null));
    for (const [key, label] of BREAKDOWNS) {
      if (models.some((m) => data.metrics[m][key])) {
        main.append(VK.el("h2", {text: "By " + label}), metricsTable("metrics-" + key, models, data.metrics, key));
      }
    }
  }
  main.append(VK.el("h2", {text: "Checkpoints"}), VK.el("ul", {}, ...data.models.map((m) =>
    VK.el("li", {}, VK.el("b", {text: m.name}), " ", VK.el("code", {text: m.path || "?"})))));
  main.append(VK.el("h2", {text: "Training curves and plots"}));
  main.append(data.plots.length
    ? VK.el("div", {class: "plots"}, ...data.plots.map((src) => VK.el("img", {src, alt: src})))
    : VK.el("p", {class: "muted", text: "No plots (the report stage writes them)."}));
  main.append(VK.el("p", {}, VK.el("a", {href: "samples.html", text: "→ every sample (" + data.samples.length + ")"})));
}

render();
