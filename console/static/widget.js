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
      title: "Brightwater Bank",
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

  // "Talk to a person": open the chat and ask for a person, as if typed.
  var button = document.getElementById("talk-to-a-person");
  button.addEventListener("click", function () {
    if (!document.querySelector(".rw-conversation-container")) {
      var launcher = document.querySelector(".rw-launcher");
      if (launcher) launcher.click();
    }
    if (chat.current && chat.current.sendMessage) {
      chat.current.sendMessage("/request_human", "Talk to a person");
    }
  });
})();
