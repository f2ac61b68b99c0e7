// Live parts of console pages. An element with data-live (a server-sent events URL) and
// data-parts (a URL of server-rendered HTML) is refreshed whenever the server says
// "changed". A refresh waits while the agent is typing in a form inside the part, and
// label forms that were open stay open.
(function () {
  "use strict";
  var part = document.querySelector("[data-live]");
  if (!part || !window.EventSource) return;
  var pending = false;

  function typing() {
    var active = document.activeElement;
    return Boolean(active && part.contains(active) && active.form);
  }

  function refresh() {
    if (typing()) { pending = true; return; }
    pending = false;
    var open = Array.prototype.map.call(part.querySelectorAll("details[open][id]"), function (d) { return d.id; });
    fetch(part.dataset.parts, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null || html === undefined) return;
        part.innerHTML = html;
        open.forEach(function (id) {
          var details = document.getElementById(id);
          if (details) details.open = true;
        });
      })
      .catch(function () { pending = true; });
  }

  part.addEventListener("focusout", function () { if (pending) setTimeout(refresh, 200); });
  var events = new EventSource(part.dataset.live);
  events.addEventListener("changed", refresh);
  events.addEventListener("signed-out", function () { events.close(); window.location.reload(); });
})();

// The reply being typed is kept in this tab's sessionStorage, per conversation, so that
// a reload, or a sign-in after the session expired, does not lose it. A sent reply comes
// back as ?notice=replied: that clears it (and the notice leaves the address, so that a
// later reload does not clear the next draft).
(function () {
  "use strict";
  var box = document.getElementById("reply-text");
  if (!box || !window.sessionStorage) return;
  var key = "gapdesk-reply:" + location.pathname;
  if (new URLSearchParams(location.search).get("notice") === "replied") {
    sessionStorage.removeItem(key);
    history.replaceState(null, "", location.pathname);
  } else {
    box.value = sessionStorage.getItem(key) || box.value;
  }
  box.addEventListener("input", function () { sessionStorage.setItem(key, box.value); });
})();
