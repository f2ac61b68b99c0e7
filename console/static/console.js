// Live parts of console pages. An element with data-live (a server-sent events URL) and
// data-parts (a URL of server-rendered HTML) is refreshed whenever the server says
// "changed". A refresh waits while the agent is typing in a form inside the part.
(function () {
  "use strict";
  var part = document.querySelector("[data-live]");
  if (!part || !window.EventSource) return;
  var pending = false;

  function busy() {
    var active = document.activeElement;
    var openForm = part.querySelector("details[open]");
    return Boolean(openForm) || Boolean(active && part.contains(active) && active.form);
  }

  function refresh() {
    if (busy()) { pending = true; return; }
    pending = false;
    fetch(part.dataset.parts, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) { if (html !== null && html !== undefined) part.innerHTML = html; })
      .catch(function () { pending = true; });
  }

  part.addEventListener("focusout", function () { if (pending) setTimeout(refresh, 200); });
  part.addEventListener("toggle", function () { if (pending) setTimeout(refresh, 200); }, true);
  var events = new EventSource(part.dataset.live);
  events.addEventListener("changed", refresh);
})();
