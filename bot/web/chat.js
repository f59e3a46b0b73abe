/*
 * The help page's chat widget, on the Rasa server's socket.io channel (same origin).
 *
 * Rendering (and why it is safe) is in render.js; this file is the connection, the
 * session and the widget's behaviour.
 *
 * Persistence: the session id (a random UUID) and the rendered transcript live in
 * sessionStorage, so a reload keeps the conversation (the server's tracker keeps its
 * state under the same id) and closing the tab forgets it, which suits a shared computer.
 */
(function () {
  "use strict";

  var STORE = "bureau-chat:";
  var MAX_KEPT_ENTRIES = 300;
  var TYPING_TIMEOUT_MS = 20000;
  var GREETING = "/greet";

  var render = window.BureauChatRender;
  var el = {
    launcher: document.getElementById("chat-launcher"),
    dialog: document.getElementById("chat-dialog"),
    close: document.getElementById("chat-close"),
    restart: document.getElementById("chat-new"),
    status: document.getElementById("chat-status"),
    log: document.getElementById("chat-log"),
    typing: document.getElementById("chat-typing"),
    form: document.getElementById("chat-form"),
    input: document.getElementById("chat-input"),
  };

  /* Storage, with a memory fallback when the browser refuses sessionStorage. */
  var memory = {};
  var storage = {
    get: function (key) {
      try {
        return window.sessionStorage.getItem(STORE + key);
      } catch (e) {
        return Object.prototype.hasOwnProperty.call(memory, key) ? memory[key] : null;
      }
    },
    set: function (key, value) {
      try {
        window.sessionStorage.setItem(STORE + key, value);
      } catch (e) {
        memory[key] = value;
      }
    },
    remove: function (key) {
      try {
        window.sessionStorage.removeItem(STORE + key);
      } catch (e) {
        delete memory[key];
      }
    },
  };

  function randomSessionId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context (https or localhost); getRandomValues does not.
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  var sessionId = storage.get("session");
  if (!sessionId) {
    sessionId = randomSessionId();
    storage.set("session", sessionId);
  }

  function transcriptKey() {
    return "transcript:" + sessionId;
  }

  function loadTranscript() {
    try {
      var entries = JSON.parse(storage.get(transcriptKey()) || "[]");
      return (Array.isArray(entries) ? entries : []).filter(function (entry) {
        return entry && typeof entry.text === "string";
      });
    } catch (e) {
      return [];
    }
  }

  var transcript = loadTranscript();

  function saveTranscript() {
    if (transcript.length > MAX_KEPT_ENTRIES) {
      transcript = transcript.slice(-MAX_KEPT_ENTRIES);
    }
    storage.set(transcriptKey(), JSON.stringify(transcript));
  }

  function show(entry) {
    render.renderEntry(el.log, entry, function (choice) {
      send(choice.payload, choice.title);
    });
    el.log.scrollTop = el.log.scrollHeight;
  }

  function addEntry(entry) {
    transcript.push(entry);
    saveTranscript();
    show(entry);
  }

  function renderTranscript() {
    el.log.replaceChildren();
    transcript.forEach(show);
  }

  /* Typing indicator: from sending until the first reply (or a time-out). */
  var typingTimer = null;

  function showTyping(visible) {
    el.typing.hidden = !visible;
    window.clearTimeout(typingTimer);
    if (visible) {
      typingTimer = window.setTimeout(function () {
        el.typing.hidden = true;
      }, TYPING_TIMEOUT_MS);
    }
  }

  /* Connection status, always visible in the dialog. */
  function setStatus(state, text) {
    el.status.dataset.state = state;
    el.status.textContent = text;
  }

  /* The connection. Messages wait in `pending` until the server confirmed the session:
     socket.io's own buffer would send them before our session_request after a reconnect,
     and the server drops messages for a session it has not confirmed. */
  var pending = [];
  var confirmed = false;
  var socket = null;

  function flush() {
    while (confirmed && socket && socket.connected && pending.length) {
      socket.emit("user_uttered", { message: pending.shift(), session_id: sessionId });
    }
  }

  function send(text, shownAs) {
    if (shownAs !== null) {
      addEntry({ who: "user", text: shownAs === undefined ? text : shownAs });
    }
    pending.push(text);
    showTyping(true);
    flush();
  }

  function connect() {
    if (typeof window.io !== "function") {
      setStatus("disconnected", "The chat could not load. Please reload the page, or call 12333.");
      return;
    }
    socket = window.io({
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
    });
    socket.on("connect", function () {
      setStatus("connecting", "Connecting…");
      socket.emit("session_request", { session_id: sessionId });
    });
    socket.on("session_confirm", function (id) {
      if (typeof id === "string" && id !== sessionId) {
        // The server refused our id and chose another: the transcript moves to it.
        storage.remove(transcriptKey());
        sessionId = id;
        storage.set("session", sessionId);
        storage.set("greeted:" + sessionId, "1");
        saveTranscript();
      }
      confirmed = true;
      setStatus("connected", "Connected");
      flush();
    });
    socket.on("bot_uttered", function (message) {
      var entry = render.entryFromBot(message);
      if (entry) {
        showTyping(false);
        addEntry(entry);
      }
    });
    socket.on("connect_error", function () {
      confirmed = false;
      showTyping(false);
      setStatus(
        "disconnected",
        "We cannot reach the help service right now. Trying again… " +
          "If this goes on, please call 12333."
      );
    });
    socket.on("disconnect", function () {
      confirmed = false;
      showTyping(false);
      setStatus("disconnected", "The connection was lost. Reconnecting…");
    });
  }

  /* Opening and closing. */
  function greetOnce() {
    if (!storage.get("greeted:" + sessionId)) {
      storage.set("greeted:" + sessionId, "1");
      send(GREETING, null); // the greeting's request is not shown as something you said
    }
  }

  function open() {
    el.dialog.hidden = false;
    el.launcher.setAttribute("aria-expanded", "true");
    storage.set("open", "1");
    if (!socket) {
      connect();
    }
    greetOnce();
    el.input.focus();
  }

  function close() {
    el.dialog.hidden = true;
    el.launcher.setAttribute("aria-expanded", "false");
    storage.remove("open");
    el.launcher.focus();
  }

  function startOver() {
    storage.remove(transcriptKey());
    storage.remove("greeted:" + sessionId);
    sessionId = randomSessionId();
    storage.set("session", sessionId);
    transcript = [];
    pending = [];
    renderTranscript();
    if (socket && socket.connected) {
      confirmed = false;
      socket.emit("session_request", { session_id: sessionId });
    }
    greetOnce();
    el.input.focus();
  }

  el.launcher.addEventListener("click", open);
  el.close.addEventListener("click", close);
  el.restart.addEventListener("click", startOver);
  el.dialog.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      close();
    }
  });
  el.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = el.input.value.trim();
    if (!text) {
      return;
    }
    el.input.value = "";
    send(text);
  });

  renderTranscript();
  if (storage.get("open")) {
    open();
  }
})();
