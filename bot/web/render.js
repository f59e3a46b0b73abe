/*
 * How chat messages become page content, kept apart from the connection (chat.js) so the
 * browser tests can check it on its own.
 *
 * Safety: every text a person or the assistant writes goes into the page as text nodes or
 * textContent, never as HTML, so "<img src=x onerror=...>" shows as those characters.
 * Links in the assistant's replies become <a> elements built here, only for http(s) URLs,
 * opening in a new tab without access to this page (rel="noopener noreferrer"). The page's
 * Content-Security-Policy (bot/channels/webpage.py) is the second line of defence.
 */
(function () {
  "use strict";

  var URL_PATTERN = /https?:\/\/[^\s<>"'`]+/g;
  var TRAILING_PUNCTUATION = /[.,;:!?)\]}'"]+$/; // "see https://x.org/a." ends at "a"

  function safeHttpUrl(candidate) {
    try {
      var url = new URL(candidate);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /* Appends `text` to `parent`, turning http(s) URLs into links. */
  function appendLinkedText(parent, text) {
    var last = 0;
    var match;
    URL_PATTERN.lastIndex = 0;
    while ((match = URL_PATTERN.exec(text)) !== null) {
      var candidate = match[0].replace(TRAILING_PUNCTUATION, "");
      var href = safeHttpUrl(candidate);
      if (href) {
        parent.appendChild(document.createTextNode(text.slice(last, match.index)));
        var link = document.createElement("a");
        link.href = href;
        link.textContent = candidate;
        link.rel = "noopener noreferrer";
        link.target = "_blank";
        parent.appendChild(link);
        last = match.index + candidate.length;
      }
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  /* Appends one transcript entry ({who, text, buttons}) to `log`; a button click calls
     onChoice({title, payload}). */
  function renderEntry(log, entry, onChoice) {
    var bubble = document.createElement("div");
    bubble.className = "chat__message chat__message--" + (entry.who === "user" ? "user" : "bot");
    var speaker = document.createElement("span");
    speaker.className = "visually-hidden";
    speaker.textContent = entry.who === "user" ? "You: " : "Assistant: ";
    bubble.appendChild(speaker);
    if (entry.who === "user") {
      bubble.appendChild(document.createTextNode(entry.text)); // what people type is never a link
    } else {
      appendLinkedText(bubble, entry.text);
    }
    log.appendChild(bubble);

    if (entry.buttons && entry.buttons.length) {
      var group = document.createElement("div");
      group.className = "chat__buttons";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Suggested replies");
      entry.buttons.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "chat__button";
        button.textContent = choice.title;
        button.addEventListener("click", function () {
          onChoice(choice);
        });
        group.appendChild(button);
      });
      log.appendChild(group);
    }
  }

  /* A transcript entry from what the socket.io channel sends (text, text with quick
     replies, an image attachment), or null when there is nothing to show. */
  function entryFromBot(message) {
    if (!message || typeof message !== "object") {
      return null;
    }
    var text = typeof message.text === "string" ? message.text : "";
    var attachment = message.attachment;
    if (!text && attachment && attachment.payload && typeof attachment.payload.src === "string") {
      text = attachment.payload.src; // an image: shown as its link, never loaded inline
    }
    var buttons = (Array.isArray(message.quick_replies) ? message.quick_replies : [])
      .filter(function (b) {
        return b && typeof b.title === "string" && typeof b.payload === "string";
      })
      .map(function (b) {
        return { title: b.title, payload: b.payload };
      });
    if (!text && !buttons.length) {
      return null;
    }
    return { who: "bot", text: text, buttons: buttons };
  }

  window.BureauChatRender = {
    appendLinkedText: appendLinkedText,
    renderEntry: renderEntry,
    entryFromBot: entryFromBot,
  };
})();
