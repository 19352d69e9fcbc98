// grade review: every student's answer to one question at a time, keyboard first.
// Student text is only ever set with textContent (never innerHTML): it is data, not markup.
"use strict";

const TOKEN_KEY = "grade-review-token";
const params = new URLSearchParams(location.search);
if (params.get("token")) {
  sessionStorage.setItem(TOKEN_KEY, params.get("token"));
  history.replaceState(null, "", "/");
}
const token = sessionStorage.getItem(TOKEN_KEY) || "";
const view = { state: null, question: 0, current: 0, pair: 0, tab: "answers" };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(text, error) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = error ? "error" : "";
}

async function api(path, body) {
  const init = { headers: { "X-Review-Token": token } };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const type = response.headers.get("Content-Type") || "";
  const data = type.startsWith("application/json") ? await response.json() : { error: await response.text() };
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function fmt(x) { return Number.isInteger(x) ? String(x) : String(Math.round(x * 1000) / 1000); }
function question() { return view.state.questions[view.question]; }
function items() { return question() ? question().items : []; }

// ---------------------------------------------------------------- answers
function drawQuestions() {
  const nav = document.getElementById("questions");
  nav.replaceChildren(...view.state.questions.map((q, i) => {
    const open = q.items.filter((it) => !it.decision || it.stale).length;
    return el("button", { type: "button", class: i === view.question ? "active" : "",
      onclick: () => { view.question = i; view.current = 0; drawAnswers(); } },
      `${q.id} (${open} open)`);
  }));
}

function drawAnswers() {
  drawQuestions();
  const q = question();
  const box = document.getElementById("question");
  const list = document.getElementById("items");
  if (!q) {
    box.replaceChildren("This assignment has no written questions to review.");
    list.replaceChildren();
    return;
  }
  box.replaceChildren(
    el("strong", {}, `${q.id} · up to ${fmt(q.max_points)} points`), el("br"), q.prompt,
    ...(q.rubric ? [el("div", { class: "rubric" }, "Rubric: ", q.rubric)] : []));
  list.replaceChildren(...q.items.map((it, i) => drawItem(it, i)));
  focusItem(false);
}

function badges(it) {
  const out = [];
  if (it.error) out.push(el("span", { class: "badge bad" }, it.error));
  if (it.unfinished) out.push(el("span", { class: "badge flag" },
    `notebook ${it.status}: no points until you decide`));
  if (it.stale) out.push(el("span", { class: "badge flag" },
    `answer changed since your decision (${fmt(it.decision.points)} then)`));
  if (it.decision && !it.stale) out.push(el("span", { class: "badge done" },
    `decided: ${fmt(it.decision.points)}`));
  if (!it.answered) out.push(el("span", { class: "badge missing" }, `not answered: ${it.message}`));
  for (const s of it.similar) out.push(el("span", { class: "badge dup",
    title: "near-duplicate answer (a signal, not a verdict)" },
    `similar to ${s.student} (${Math.round(s.score * 100)}%)`));
  return out;
}

function drawItem(it, index) {
  const points = el("input", { type: "number", min: "0", max: String(it.max_points), step: "any",
    "aria-label": "points" });
  points.value = it.decision && !it.stale ? fmt(it.decision.points) : "";
  points.placeholder = `provisional ${fmt(it.provisional)}`;
  const comment = el("textarea", { "aria-label": "comment for the student",
    placeholder: "comment for the student (optional)" });
  comment.value = it.decision ? it.decision.comment : "";
  const save = () => decide(index, points.value === "" ? null : Number(points.value), comment.value);
  for (const field of [points, comment]) {
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !(field === comment && event.shiftKey)) {
        event.preventDefault(); save();
      } else if (event.key === "Escape") { field.blur(); }
      event.stopPropagation();
    });
  }
  return el("li", { class: "item", "data-index": String(index), onclick: () => { view.current = index; focusItem(false); } },
    el("span", { class: "who" }, it.student), ` · ${it.status} · up to ${fmt(it.max_points)}`,
    ...badges(it),
    el("div", { class: "text" }, it.text || "(empty)"),
    el("label", {}, "points ", points), " ",
    el("button", { type: "button", onclick: save }, "save"), " ",
    el("button", { type: "button", onclick: () => decide(index, null, "") }, "undo"),
    comment);
}

function focusItem(scroll) {
  document.querySelectorAll(".item").forEach((node, i) => {
    node.classList.toggle("current", i === view.current);
    if (i === view.current && scroll !== false) node.scrollIntoView({ block: "nearest" });
  });
}

async function decide(index, points, comment) {
  const it = items()[index];
  if (points !== null && (!Number.isFinite(points) || points < 0 || points > it.max_points)) {
    say(`points must lie in 0..${fmt(it.max_points)}`, true);
    return;
  }
  try {
    const updated = await api("/api/decide", { student: it.key, question: question().id,
      points, comment, answer_sha256: it.answer_sha256 });
    updated.similar = it.similar;
    items()[index] = updated;
    const node = document.querySelectorAll(".item")[index];
    node.replaceWith(drawItem(updated, index));
    drawQuestions();
    say(points === null ? `${it.student}: decision removed` : `${it.student}: ${fmt(points)} points saved`);
    move(1);
  } catch (error) {
    say(String(error.message || error), true);
  }
}

function move(step) {
  const count = items().length;
  if (count) view.current = Math.max(0, Math.min(count - 1, view.current + step));
  focusItem(true);
}

function field(selector) {
  const node = document.querySelectorAll(".item")[view.current];
  return node ? node.querySelector(selector) : null;
}

// ---------------------------------------------------------------- code similarity
function drawPairs() {
  const body = document.querySelector("#pairs tbody");
  const pairs = view.state.pairs;
  if (!pairs.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "4" }, "no similar pairs found")));
    return;
  }
  body.replaceChildren(...pairs.map((p, i) => el("tr",
    { class: i === view.pair ? "current" : "", onclick: () => showPair(i) },
    el("td", {}, p.a), el("td", {}, p.b), el("td", {}, `${Math.round(p.score * 100)}%`),
    el("td", {}, String(p.shared)))));
}

function codeBlock(name, code, hits) {
  const lines = new Set(hits);
  return el("div", {}, el("strong", {}, name),
    el("pre", {}, ...code.split("\n").map((line, i) =>
      el("span", { class: lines.has(i + 1) ? "hit" : "" }, line || " "))));
}

async function showPair(index) {
  view.pair = index;
  drawPairs();
  const p = view.state.pairs[index];
  try {
    const data = await api(`/api/pair?a=${encodeURIComponent(p.key_a)}&b=${encodeURIComponent(p.key_b)}`);
    document.getElementById("pair").replaceChildren(
      codeBlock(data.a, data.code_a, data.lines_a), codeBlock(data.b, data.code_b, data.lines_b));
  } catch (error) {
    say(String(error.message || error), true);
  }
}

// ---------------------------------------------------------------- tabs and keys
function tab(name) {
  view.tab = name;
  document.getElementById("answers").hidden = name !== "answers";
  document.getElementById("code").hidden = name !== "code";
  document.getElementById("tab-answers").classList.toggle("active", name === "answers");
  document.getElementById("tab-code").classList.toggle("active", name === "code");
  if (name === "code") drawPairs();
}

const keys = {
  j: () => move(1), ArrowDown: () => move(1), k: () => move(-1), ArrowUp: () => move(-1),
  n: () => { view.question = Math.min(view.state.questions.length - 1, view.question + 1); view.current = 0; drawAnswers(); },
  p: () => { view.question = Math.max(0, view.question - 1); view.current = 0; drawAnswers(); },
  f: () => items()[view.current] && decide(view.current, items()[view.current].max_points, field("textarea").value),
  z: () => items()[view.current] && decide(view.current, 0, field("textarea").value),
  u: () => items()[view.current] && decide(view.current, null, ""),
  e: () => field("input") && field("input").focus(),
  c: () => field("textarea") && field("textarea").focus(),
  Enter: () => field("input") && field("input").focus(),
};

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || !view.state) return;
  if (event.key === "s") { tab(view.tab === "answers" ? "code" : "answers"); return; }
  if (view.tab === "code") {
    const step = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[event.key];
    if (step && view.state.pairs.length) showPair(Math.max(0, Math.min(view.state.pairs.length - 1, view.pair + step)));
    return;
  }
  const action = keys[event.key];
  if (action) { event.preventDefault(); action(); }
});

async function start() {
  document.getElementById("tab-answers").addEventListener("click", () => tab("answers"));
  document.getElementById("tab-code").addEventListener("click", () => tab("code"));
  try {
    view.state = await api("/api/state");
  } catch (error) {
    say(`cannot load the review: ${error.message || error}`, true);
    return;
  }
  document.title = `grade review · ${view.state.assignment.id}`;
  document.getElementById("title").textContent =
    `grade review · ${view.state.assignment.title} (${view.state.assignment.id})`;
  drawAnswers();
  const skipped = view.state.similarity_skipped;
  say(skipped.length ? `code not compared for ${skipped.length} student(s): submission moved or changed` : "ready");
}

start();
