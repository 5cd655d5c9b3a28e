// Shared helpers of the Task Manager pages: API calls with readable errors, the remembered
// identity (URL first, then localStorage), and the notice banner.
"use strict";

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  // Reads revalidate: the browser sends the ETag it holds and takes a 304 as its cached copy,
  // so an unchanged room is not downloaded again.
  if (method === "GET") init.cache = "no-cache";
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (networkError) {
    throw new ApiError(0, { error: "Cannot reach the server. Check your connection and try again." });
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = { error: text }; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function plainError(error) {
  if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
  if (error.status === 0) return error.message;
  if (error.status === 404) return error.message || "Not found.";
  if (error.status >= 500) return "The server had a problem. Your input is kept; please try again shortly.";
  return error.message.replace(/^[a-z_]+: /, (m) => m.charAt(0).toUpperCase() + m.slice(1));
}

function showNotice(message, kind = "error") {
  const notice = document.getElementById("notice");
  if (!notice) return;
  notice.textContent = message;
  notice.className = kind === "info" ? "notice info" : "notice";
  notice.hidden = !message;
}

const identity = {
  read() {
    const params = new URLSearchParams(location.search);
    return {
      room: (params.get("room") || localStorage.getItem("taskcore.room") || "").toUpperCase(),
      name: params.get("name") || localStorage.getItem("taskcore.name") || "",
    };
  },
  remember(room, name) {
    if (room) localStorage.setItem("taskcore.room", room);
    if (name) localStorage.setItem("taskcore.name", name);
  },
};
