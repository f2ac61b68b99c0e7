// The customers' chat: rasa-webchat on Rasa's socket.io channel. Session persistence
// (Rasa side) plus local storage (here) keep the conversation across page reloads.
(function () {
  "use strict";
  var host = document.getElementById("webchat");
  window.WebChat.default(
    {
      socketUrl: host.dataset.socketUrl,
      socketPath: "/socket.io/",
      title: "Brightwater Bank",
      subtitle: "We answer, or bring in a person",
      inputTextFieldHint: "Type your question…",
      params: { storage: "local" },
      customData: { page: "help" },
      showFullScreenButton: true,
    },
    null
  );
})();
