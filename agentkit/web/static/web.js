// agentkit web: renders the items of a run (see agentkit/web/_items.py) as they stream in over SSE.
"use strict";
(() => {
  const config = JSON.parse(document.getElementById("agentkit-config").textContent);
  const log = document.getElementById("log");
  const prompt = document.getElementById("prompt");
  const files = document.getElementById("files");
  const send = document.getElementById("send");
  const stop = document.getElementById("stop");
  const usageBar = document.getElementById("usage");
  let session = config.session;
  let bubble = null;
  let thinking = null;
  let cards = new Map();
  let turn = null;
  let total = { tokens: 0, cost: 0 };
  let untitled = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }
  const headers = () => ({ "content-type": "application/json", "x-agentkit-token": config.token });
  const dollars = (x) => "$" + (x < 0.01 && x > 0 ? x.toFixed(5) : x.toFixed(4));
  const post = (path, body) => fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body) });

  function assistant() {
    if (!bubble) {
      bubble = el("div", { class: "msg assistant", "data-testid": "message-assistant" });
      log.append(bubble);
    }
    return bubble;
  }

  function card(item) {
    let found = cards.get(item.id);
    if (found) return found;
    const status = el("span", { class: "status" }, "running…");
    const summary = el("summary", {}, el("code", {}, item.name || "call"), " ", status);
    const body = el("div", { class: "body" });
    const node = el("details", { class: "tool", "data-testid": "tool-call", "data-call-id": item.id }, summary, body);
    const children = el("div", { class: "children" });
    found = { node, status, body, children };
    cards.set(item.id, found);
    const parent = item.parent && cards.get(item.parent);
    (parent ? parent.children : log).append(node);
    if (!parent) bubble = null;
    return found;
  }

  function showUsage() {
    const parts = [];
    if (turn) {
      parts.push(`this turn: ${turn.tokens} tokens, ${dollars(turn.cost)}` + (turn.model ? ` · ${turn.model}` : ""));
    }
    parts.push(`chat total: ${total.tokens} tokens, ${dollars(total.cost)}`);
    usageBar.textContent = parts.join("  |  ");
  }

  function apply(item) {
    switch (item.type) {
      case "session":
        if (session !== item.id) {
          session = item.id;
          const link = el("a", { "data-testid": "session", href: `?token=${encodeURIComponent(config.token)}&session=${encodeURIComponent(session)}`, "aria-current": "page" });
          document.querySelectorAll("#sessions a[aria-current]").forEach((a) => a.removeAttribute("aria-current"));
          document.getElementById("sessions").prepend(link);
          untitled = link;
          history.replaceState(null, "", `?token=${encodeURIComponent(config.token)}&session=${encodeURIComponent(session)}`);
        }
        break;
      case "user": {
        const note = item.attachments ? el("span", { class: "note" }, ` (+${item.attachments} attached)`) : "";
        log.append(el("div", { class: "msg user", "data-testid": "message-user" }, item.text, note));
        if (untitled) untitled.textContent = item.text.trim().slice(0, 80) || "(attachments)";
        untitled = null;
        bubble = null; thinking = null; turn = { tokens: 0, cost: 0, model: null };
        break;
      }
      case "turn":
        bubble = null; thinking = null;
        break;
      case "thinking":
        if (!thinking) {
          thinking = el("pre", {});
          log.append(el("details", { class: "thinking", "data-testid": "thinking" }, el("summary", {}, "Thinking"), thinking));
          bubble = null;
        }
        thinking.textContent += item.text;
        break;
      case "text":
        assistant().append(item.provisional ? el("span", { class: "provisional" }, item.text) : item.text);
        break;
      case "retract":
        if (bubble) bubble.remove();
        bubble = null;
        break;
      case "output":
        log.append(el("div", { class: "msg assistant", "data-testid": "message-assistant" }, el("pre", {}, item.text)));
        bubble = null;
        break;
      case "tool_start": {
        const c = card(item);
        const parent = item.parent && cards.get(item.parent);
        if (parent && c.node.parentNode !== parent.children) parent.children.append(c.node); // approved before it started
        if (!c.body.querySelector(":scope > .args")) {
          c.body.append(el("div", { class: "label" }, "arguments"), el("pre", { class: "args" }, item.arguments));
        }
        if (item.repaired !== null && item.repaired !== undefined) {
          c.body.append(el("div", { class: "note" }, "repaired by agentkit; the model wrote: "), el("pre", {}, item.repaired));
        }
        c.body.append(c.children);
        break;
      }
      case "tool_end": {
        const c = card(item);
        c.node.querySelectorAll(":scope > .body > .approval").forEach((n) => n.remove());
        const result = el("div", { class: "result" + (item.is_error ? " error" : ""), "data-testid": "tool-result" });
        result.append(el("div", { class: "label" }, item.is_error ? "error" : "result"), el("pre", {}, item.content));
        for (const url of item.images || []) result.append(el("img", { src: url, alt: "tool image" }));
        c.body.append(result);
        const took = item.duration_s === null || item.duration_s === undefined ? "" : ` · ${(item.duration_s * 1000).toFixed(0)} ms`;
        const tries = item.attempts > 1 ? ` · ${item.attempts} attempts` : "";
        c.status.textContent = (item.is_error ? "error" : "done") + took + tries;
        c.node.classList.toggle("failed", item.is_error);
        break;
      }
      case "approval": {
        const c = card(item);
        if (!c.body.querySelector(".args")) c.body.append(el("div", { class: "label" }, "arguments"), el("pre", { class: "args" }, item.arguments));
        c.status.textContent = "waiting for approval";
        c.node.open = true;
        const reason = el("input", { type: "text", placeholder: "reason to deny (optional)", "data-testid": "deny-reason" });
        const yes = el("button", { type: "button", "data-testid": "approve" }, "Approve");
        const no = el("button", { type: "button", "data-testid": "deny" }, "Deny");
        const box = el("div", { class: "approval" }, yes, no, reason);
        const decide = async (approve) => {
          yes.disabled = no.disabled = true;
          await post("api/approve", { session, call_id: item.id, approve, reason: reason.value });
          box.remove();
          c.status.textContent = approve ? "approved, running…" : "denied";
        };
        yes.addEventListener("click", () => decide(true));
        no.addEventListener("click", () => decide(false));
        c.body.append(box);
        break;
      }
      case "usage":
        if (!turn) turn = { tokens: 0, cost: 0, model: null };
        turn.tokens += item.usage.total_tokens || 0;
        turn.cost += item.usage.cost_usd || 0;
        turn.model = item.model || turn.model;
        total.tokens += item.usage.total_tokens || 0;
        total.cost += item.usage.cost_usd || 0;
        showUsage();
        break;
      case "error":
        log.append(el("div", { class: "msg error" }, item.message));
        break;
      case "stopped":
        log.append(el("div", { class: "msg note" }, "stopped"));
        break;
      case "done":
        break;
    }
    log.scrollTop = log.scrollHeight;
  }

  function running(on) {
    send.disabled = on;
    stop.disabled = !on;
    document.body.classList.toggle("running", on);
  }

  async function attachments() {
    const read = (file) => new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve({ name: file.name, type: file.type, data: String(reader.result).split(",")[1] || "" });
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
    return Promise.all(Array.from(files.files).map(read));
  }

  async function submit(event) {
    event.preventDefault();
    const text = prompt.value;
    if (!text.trim() && !files.files.length) return;
    running(true);
    try {
      const response = await post("api/chat", { prompt: text, session, files: await attachments() });
      if (!response.ok) {
        apply({ type: "error", message: (await response.json()).error });
        return;
      }
      prompt.value = "";
      files.value = "";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (data) apply(JSON.parse(data));
        }
      }
    } catch (error) {
      apply({ type: "error", message: String(error) });
    } finally {
      running(false);
      prompt.focus();
    }
  }

  document.getElementById("composer").addEventListener("submit", submit);
  prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) submit(event);
  });
  stop.addEventListener("click", () => post("api/stop", { session }));
  document.getElementById("new-chat").addEventListener("click", () => {
    session = null; bubble = null; thinking = null; turn = null; cards = new Map();
    total = { tokens: 0, cost: 0 };
    log.replaceChildren();
    usageBar.textContent = "";
    history.replaceState(null, "", `?token=${encodeURIComponent(config.token)}`);
    prompt.focus();
  });
  for (const item of config.items) apply(item);
  prompt.focus();
})();
