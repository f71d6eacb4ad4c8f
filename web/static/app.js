// The page's one job: send the question to /v1/ask and show the answer with its passage.
// Every piece of text goes in through textContent, never innerHTML: a question or a passage that
// holds markup shows as text.
"use strict";

const $ = (id) => document.getElementById(id);
const MORE_PASSAGES = 8;
let current = null; // the answer shown: {question, body, shown: Set of passage ids}

// The same words and bands as qa.render.confidence_word (the terminal's and the bot's): thirds of the
// range between the server's no-answer threshold (from /readyz) and 1.
let noAnswerThreshold = null;

async function loadThreshold() {
  if (noAnswerThreshold !== null) return;
  try {
    const response = await fetch("/readyz");
    if (response.ok) noAnswerThreshold = (await response.json()).no_answer_threshold;
  } catch (err) {
    // the answer still shows, with its number and without a word
  }
}

function confidenceWord(score) {
  if (typeof noAnswerThreshold !== "number") return "";
  const third = (1 - noAnswerThreshold) / 3;
  if (score >= noAnswerThreshold + 2 * third) return "عالية";
  if (score >= noAnswerThreshold + third) return "متوسطة";
  return "منخفضة";
}

// With SANAD_API_TOKEN set on the server, the page asks for the token once (on the first 401) and
// keeps it for this tab only (sessionStorage), sending it as a bearer token.
const TOKEN_KEY = "sanad-api-token";

function withToken(options) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return options || {};
  const headers = Object.assign({}, (options && options.headers) || {}, { Authorization: "Bearer " + token });
  return Object.assign({}, options || {}, { headers });
}

async function callApi(path, options) {
  let response = await fetch(path, withToken(options));
  if (response.status === 401) {
    const token = window.prompt("هذه الخدمة تتطلب رمز دخول. اكتب الرمز:");
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token.trim());
      response = await fetch(path, withToken(options));
      if (response.status === 401) sessionStorage.removeItem(TOKEN_KEY);
    }
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    throw new Error("ردّ الخادم بما لا أفهمه. حاول مرة أخرى.");
  }
  if (!response.ok) throw new Error(body.error || "تعذّر الحصول على إجابة.");
  return body;
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").classList.toggle("error", Boolean(isError));
}

// The passage with [start, end) inside <mark>. Offsets count Unicode code points (Python's str
// indexes), so the text is split into code points, not UTF-16 units.
function markedPassage(text, start, end) {
  const quote = document.createElement("blockquote");
  quote.dir = "auto";
  const chars = Array.from(text);
  if (end <= start) {
    quote.textContent = text;
    return quote;
  }
  const mark = document.createElement("mark");
  mark.textContent = chars.slice(start, end).join("");
  quote.append(chars.slice(0, start).join(""), mark, chars.slice(end).join(""));
  return quote;
}

function passageItem(title, source, docId, text, start, end) {
  const item = document.createElement("li");
  item.className = "passage";
  const heading = document.createElement("h3");
  heading.textContent = title || docId;
  item.append(heading);
  if (source) {
    const from = document.createElement("p");
    from.className = "source";
    from.textContent = "المصدر: " + source;
    item.append(from);
  }
  item.append(markedPassage(text, start, end));
  return item;
}

function citationItem(citation) {
  return passageItem(citation.title, citation.source, citation.doc_id, citation.passage, citation.start, citation.end);
}

function show(question, body) {
  current = { question, body, shown: new Set(), more: body.citations.slice(1) };
  $("asked").textContent = "سؤالك: " + question;
  $("passages").replaceChildren();
  const found = body.answer !== null;
  $("found").hidden = !found;
  $("not-found").hidden = found;
  if (found) {
    $("answer").textContent = body.answer;
    const word = confidenceWord(body.score);
    $("confidence").textContent = "الثقة: " + (word ? word + " (" + body.score.toFixed(2) + ")" : body.score.toFixed(2));
    addCitations(body.citations.slice(0, 1));
  } else {
    addCitations(body.citations);
    current.more = [];
  }
  $("more").hidden = false;
  $("more").disabled = false;
  for (const button of document.querySelectorAll(".vote")) {
    button.disabled = false;
    button.classList.remove("chosen");
  }
  $("thanks").textContent = "";
  $("result").hidden = false;
}

function addCitations(citations) {
  for (const citation of citations) {
    current.shown.add(citation.passage_id);
    $("passages").append(citationItem(citation));
  }
}

async function onAsk(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("ask").disabled = true;
  setStatus("أبحث في المستندات…");
  try {
    const body = await callApi("/v1/ask", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question }),
    });
    await loadThreshold();
    show(question, body);
    setStatus("");
  } catch (err) {
    $("result").hidden = true;
    setStatus(err.message, true);
  } finally {
    $("ask").disabled = false;
  }
}

// "More passages": the answer's other citations, then the next passages retrieval ranks for the question.
async function onMore() {
  const asked = current;
  $("more").disabled = true;
  addCitations(asked.more);
  try {
    const found = await callApi("/v1/search?q=" + encodeURIComponent(asked.question) + "&k=" + MORE_PASSAGES);
    if (asked !== current) return;
    let added = 0;
    for (const hit of found.hits) {
      if (asked.shown.has(hit.passage.id)) continue;
      asked.shown.add(hit.passage.id);
      $("passages").append(passageItem(hit.title, hit.source, hit.passage.doc_id, hit.passage.text, 0, 0));
      added += 1;
    }
    setStatus(added || asked.more.length ? "" : "لا توجد مقاطع أخرى.");
    $("more").hidden = true;
  } catch (err) {
    setStatus(err.message, true);
    $("more").disabled = false;
  }
}

async function onVote(event) {
  const button = event.currentTarget;
  const { question, body } = current;
  const first = body.citations[0] || {};
  for (const other of document.querySelectorAll(".vote")) other.disabled = true;
  try {
    const reply = await callApi("/v1/feedback", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        question,
        answer: body.answer,
        doc_id: first.doc_id || null,
        passage_id: first.passage_id || null,
        score: body.score,
        reader: body.reader,
        vote: button.dataset.vote,
      }),
    });
    button.classList.add("chosen");
    // The bot's words (bot/handlers.py THANKS and ALREADY_VOTED): the first vote stands.
    $("thanks").textContent = reply.recorded ? "شكرًا، سُجّل رأيك." : "سبق أن قيّمت هذه الإجابة.";
  } catch (err) {
    for (const other of document.querySelectorAll(".vote")) other.disabled = false;
    $("thanks").textContent = err.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", onAsk);
  $("more").addEventListener("click", onMore);
  for (const button of document.querySelectorAll(".vote")) button.addEventListener("click", onVote);
});
