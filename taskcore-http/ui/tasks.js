// Tasks page: the room's board (columns by priority plus completed), filters, stats, the
// add/edit dialog, and live updates from the room's event stream.
"use strict";

(function () {
  const { room, name } = identity.read();
  if (!room || !name) {
    location.href = "/";
    return;
  }
  identity.remember(room, name);
  history.replaceState(null, "", `/tasks.html?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);

  const $ = (id) => document.getElementById(id);
  const state = { tasks: [], members: [], owner: "", editing: null };
  const q = encodeURIComponent(room);

  $("room-code").textContent = room;
  $("me").textContent = name;
  $("export-json").href = `/rooms/${q}/export?format=json`;
  $("export-csv").href = `/rooms/${q}/export?format=csv`;

  // ---- relative due dates -------------------------------------------------------------
  const UNITS = [["year", 31536e6], ["month", 2592e6], ["week", 6048e5], ["day", 864e5], ["hour", 36e5], ["minute", 6e4]];
  function span(ms) {
    for (const [unit, size] of UNITS) {
      if (ms >= size) {
        const n = Math.round(ms / size);
        return `${n} ${unit}${n === 1 ? "" : "s"}`;
      }
    }
    return "less than a minute";
  }
  function dueLabel(task) {
    if (!task.due_date) return { text: "", cls: "" };
    const diff = new Date(task.due_date).getTime() - Date.now();
    if (task.completed) return { text: `due ${new Date(task.due_date).toLocaleString()}`, cls: "" };
    if (diff < 0) return { text: `overdue by ${span(-diff)}`, cls: "overdue" };
    return { text: `due in ${span(diff)}`, cls: diff < 864e5 ? "soon" : "" };
  }

  // ---- rendering ----------------------------------------------------------------------
  function renderTasks() {
    const columns = { high: [], medium: [], low: [], completed: [] };
    for (const task of state.tasks) columns[task.completed ? "completed" : task.priority].push(task);
    for (const [key, tasks] of Object.entries(columns)) {
      const column = document.querySelector(`[data-column="${key}"]`);
      const list = column.querySelector(".cards");
      column.querySelector(".count").textContent = tasks.length;
      list.replaceChildren(...(tasks.length ? tasks.map(card) : [emptyItem()]));
    }
  }
  function emptyItem() {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "No tasks";
    return li;
  }
  function card(task) {
    const node = $("card-template").content.firstElementChild.cloneNode(true);
    node.dataset.taskId = task.id;
    node.classList.toggle("done", task.completed);
    node.querySelector(".task-number").textContent = `#${task.id}`;
    node.querySelector(".task-title").textContent = task.title;
    node.querySelector(".task-description").textContent = task.description;
    const due = dueLabel(task);
    const dueNode = node.querySelector(".due");
    dueNode.textContent = due.text;
    if (due.cls) dueNode.classList.add(due.cls);
    if (task.due_date) dueNode.title = new Date(task.due_date).toLocaleString();
    node.querySelector(".assignee").textContent = task.assignee ? `@${task.assignee}` : "";
    const tags = node.querySelector(".tags");
    tags.replaceChildren(...task.tags.map((t) => Object.assign(document.createElement("span"), { className: "tag", textContent: `#${t}` })));
    const toggle = node.querySelector(".toggle");
    toggle.textContent = task.completed ? "Reopen" : "Complete";
    toggle.setAttribute("aria-label", `${toggle.textContent} task ${task.id}: ${task.title}`);
    toggle.addEventListener("click", () => setCompleted(task, !task.completed));
    const edit = node.querySelector(".edit");
    edit.setAttribute("aria-label", `Edit task ${task.id}: ${task.title}`);
    edit.addEventListener("click", () => openDialog(task));
    const del = node.querySelector(".delete");
    del.setAttribute("aria-label", `Delete task ${task.id}: ${task.title}`);
    del.addEventListener("click", () => removeTask(task));
    return node;
  }
  function renderMembers() {
    $("members").replaceChildren(...state.members.map((m) => {
      const li = document.createElement("li");
      li.textContent = m;
      if (m === state.owner) li.className = "owner";
      return li;
    }));
    const select = $("task-assignee");
    const current = select.value;
    select.replaceChildren(new Option("Nobody", ""), ...state.members.map((m) => new Option(m, m)));
    select.value = current;
  }
  function renderStats(stats) {
    for (const node of document.querySelectorAll("[data-stat]")) {
      const value = stats[node.dataset.stat];
      node.textContent = node.dataset.stat === "completion_rate" ? `${value}%` : value;
    }
    $("progress-bar").style.width = `${stats.completion_rate}%`;
  }

  // ---- loading ------------------------------------------------------------------------
  function filterQuery() {
    const params = new URLSearchParams({ room });
    const status = $("filter-status").value;
    if (status !== "all") params.set("status", status);
    const priority = $("filter-priority").value;
    if (priority) params.set("priority", priority);
    const tag = $("filter-tag").value.trim();
    if (tag) params.set("tag", tag);
    const text = $("filter-q").value.trim();
    if (text) params.set("q", text);
    return params.toString();
  }
  let loading = null;
  async function load() {
    const run = (async () => {
      try {
        const [list, stats] = await Promise.all([api("GET", `/tasks?${filterQuery()}`), api("GET", `/tasks/stats?room=${q}`)]);
        state.tasks = list.tasks;
        renderTasks();
        renderStats(stats);
        document.body.dataset.loaded = String(Date.now());
      } catch (error) {
        showNotice(plainError(error));
      }
    })();
    loading = run;
    return run;
  }
  async function loadRoom() {
    const data = await api("GET", `/rooms/${q}`);
    state.members = data.members;
    state.owner = data.owner;
    renderMembers();
  }
  let reloadTimer = null;
  function scheduleReload(delay = 120) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, delay);
  }

  // ---- actions ------------------------------------------------------------------------
  async function setCompleted(task, done) {
    try {
      await api("POST", `/tasks/${task.id}/${done ? "complete" : "reopen"}?room=${q}`);
      showNotice("");
      await load();
    } catch (error) {
      showNotice(plainError(error));
    }
  }
  async function removeTask(task) {
    try {
      await api("DELETE", `/tasks/${task.id}?room=${q}`);
      showNotice(`Deleted task #${task.id} "${task.title}".`, "info");
      await load();
    } catch (error) {
      showNotice(plainError(error));
    }
  }
  function toLocalInput(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  function openDialog(task) {
    state.editing = task ? { id: task.id, version: task.version } : null;
    $("dialog-title").textContent = task ? `Edit task #${task.id}` : "Add task";
    $("form-error").hidden = true;
    $("task-title").value = task ? task.title : "";
    $("task-description").value = task ? task.description : "";
    $("task-due").value = task ? toLocalInput(task.due_date) : "";
    $("task-priority").value = task ? task.priority : "medium";
    $("task-tags").value = task ? task.tags.join(", ") : "";
    $("task-assignee").value = task && task.assignee ? task.assignee : "";
    $("task-dialog").showModal();
    $("task-title").focus();
  }
  function formBody() {
    const due = $("task-due").value;
    const tags = $("task-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
    return {
      title: $("task-title").value,
      description: $("task-description").value,
      due_date: due ? new Date(due).toISOString() : null,
      priority: $("task-priority").value,
      tags,
      assignee: $("task-assignee").value || null,
    };
  }
  function formError(message) {
    $("form-error").textContent = message;
    $("form-error").hidden = false;
  }
  $("task-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = formBody();
    if (!body.title.trim()) return formError("Please give the task a title.");
    const editing = state.editing;
    $("save-task").disabled = true;
    try {
      if (editing) {
        const answer = await api("PUT", `/tasks/${editing.id}?room=${q}`, body, { "If-Match": `"${editing.version}"` });
        editing.version = answer.task.version;
      } else {
        if (!body.due_date) delete body.due_date;
        if (!body.assignee) delete body.assignee;
        await api("POST", `/tasks?room=${q}`, body);
      }
      $("task-dialog").close();
      showNotice("");
      await load();
    } catch (error) {
      if (error.status === 412 && editing) {
        editing.version = error.body.current_version;
        formError("Someone else changed this task while you were editing. Your text is kept: save again to replace their version with yours.");
      } else {
        formError(plainError(error));
      }
    } finally {
      $("save-task").disabled = false;
    }
  });
  $("cancel-task").addEventListener("click", () => $("task-dialog").close());
  $("add-task").addEventListener("click", () => openDialog(null));

  for (const id of ["filter-status", "filter-priority"]) $(id).addEventListener("change", () => load());
  for (const id of ["filter-tag", "filter-q"]) $(id).addEventListener("input", () => scheduleReload(250));
  $("filters").addEventListener("submit", (event) => event.preventDefault());

  $("copy-code").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(room);
      $("copy-code").textContent = "Copied!";
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents($("room-code"));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      $("copy-code").textContent = "Press Ctrl+C";
    }
    setTimeout(() => ($("copy-code").textContent = "Copy code"), 2000);
  });

  // ---- live updates -------------------------------------------------------------------
  function connect() {
    const events = new EventSource(`/rooms/${q}/events`);
    events.addEventListener("open", () => { $("live").textContent = "live"; $("live").classList.add("on"); });
    events.addEventListener("error", () => { $("live").textContent = "reconnecting…"; $("live").classList.remove("on"); });
    events.addEventListener("change", (message) => {
      const change = JSON.parse(message.data);
      if (change.kind === "member_joined") loadRoom().catch(() => {});
      scheduleReload();
    });
    events.addEventListener("resync", () => { loadRoom().catch(() => {}); scheduleReload(); });
  }

  setInterval(renderTasks, 30000);
  (async () => {
    try {
      await api("POST", `/rooms/${q}/join`, { username: name });
      await loadRoom();
      await load();
      connect();
    } catch (error) {
      showNotice(error.status === 404 ? `Room ${room} does not exist. Go back and create or join a room.` : plainError(error));
    }
  })();
})();
