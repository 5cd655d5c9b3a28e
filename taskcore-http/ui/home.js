// Home page: create a room or join one, then go to its tasks page.
"use strict";

(function () {
  const saved = identity.read();
  document.getElementById("create-name").value = saved.name;
  document.getElementById("join-name").value = saved.name;
  document.getElementById("join-code").value = saved.room;

  function open(room, name) {
    identity.remember(room, name);
    location.href = `/tasks.html?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`;
  }

  document.getElementById("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = document.getElementById("create-name").value.trim();
    if (!name) return showNotice("Please enter your name to create a room.");
    try {
      const created = await api("POST", "/rooms", { username: name });
      open(created.room_code, name);
    } catch (error) {
      showNotice(plainError(error));
    }
  });

  document.getElementById("join-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = document.getElementById("join-code").value.trim().toUpperCase();
    const name = document.getElementById("join-name").value.trim();
    if (!code || !name) return showNotice("Please enter the room code and your name.");
    try {
      await api("POST", `/rooms/${encodeURIComponent(code)}/join`, { username: name });
      open(code, name);
    } catch (error) {
      showNotice(error.status === 404 ? `There is no room ${code}. Check the code and try again.` : plainError(error));
    }
  });
})();
