// The customers' chat: rasa-webchat on Rasa's socket.io channel. Session persistence
// (Rasa side) plus local storage (here) keep the conversation across page reloads.
(function () {
  "use strict";
  var host = document.getElementById("webchat");
  var chat = { current: null }; // rasa-webchat fills in its handle (sendMessage)
  window.WebChat.default(
    {
      socketUrl: host.dataset.socketUrl,
      socketPath: "/socket.io/",
      title: host.dataset.title,
      subtitle: "We answer, or bring in a person",
      inputTextFieldHint: "Type your question…",
      params: { storage: "local" },
      initPayload: "/greet", // the bot says hello when the chat is first opened
      customData: { page: "help" },
      showFullScreenButton: true,
      innerRef: chat,
    },
    null
  );

  // Rasa drops a message that carries no session id, and a first visit has none until
  // Rasa confirms the session (until then rasa-webchat also hides its launcher): a click
  // right after the page loads waits for it, at most SESSION_WAIT_MS, then goes ahead.
  var SESSION_WAIT_MS = 15000;
  function whenInSession(then, waited) {
    var widget = chat.current;
    if ((widget && widget.getSessionId && widget.getSessionId()) || waited >= SESSION_WAIT_MS) {
      then();
      return;
    }
    setTimeout(function () {
      whenInSession(then, waited + 100);
    }, 100);
  }

  // "Talk to a person": open the chat and ask for a person, as if typed.
  var button = document.getElementById("talk-to-a-person");
  button.addEventListener("click", function () {
    whenInSession(function () {
      if (!document.querySelector(".rw-conversation-container")) {
        var launcher = document.querySelector(".rw-launcher");
        if (launcher) launcher.click();
      }
      if (chat.current && chat.current.sendMessage) {
        chat.current.sendMessage("/request_human", "Talk to a person");
      }
    }, 0);
  });
})();
