// Pipeline board: SortableJS moves a card, htmx posts the move; a refused move puts the card back
// and shows the server's reason above the board.
(function () {
  "use strict";
  var board = document.querySelector(".crm-board");
  if (!board || board.dataset.canMove !== "1" || typeof Sortable === "undefined") return;
  var message = document.getElementById("board-message");
  var moveUrl = board.dataset.moveUrl;
  board.querySelectorAll(".crm-board-cards").forEach(function (list) {
    Sortable.create(list, {
      group: "deals",
      draggable: ".crm-deal-card",
      animation: 120,
      onEnd: function (event) {
        if (event.from === event.to) return;
        var card = event.item;
        card._origin = { list: event.from, index: event.oldIndex };
        var url = moveUrl.replace("/0/", "/" + card.dataset.deal + "/") + window.location.search;
        htmx.ajax("POST", url, { source: card, target: "#board-message", swap: "innerHTML", values: { stage: event.to.dataset.stage } });
      },
    });
  });
  // Without a mouse: each open card's "Move" button opens one dialog of stages; the card moves as
  // if dragged (same request, same rules), and the answer is announced by #board-message.
  var dialog = document.getElementById("board-move-dialog");
  var moving = null;
  if (dialog) {
    board.addEventListener("click", function (event) {
      var button = event.target.closest(".crm-move-open");
      if (!button) return;
      moving = button.closest(".crm-deal-card");
      var current = moving.closest(".crm-board-cards").dataset.stage;
      dialog.querySelector("#board-move-deal").textContent = moving.querySelector("a").textContent;
      dialog.querySelectorAll(".crm-move-to").forEach(function (choice) {
        choice.disabled = choice.dataset.stage === current;
        choice.setAttribute("aria-current", choice.disabled ? "true" : "false");
      });
      dialog.showModal();
      var first = dialog.querySelector(".crm-move-to:not([disabled])");
      if (first) first.focus();
    });
    dialog.querySelector(".crm-move-cancel").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () {
      var button = moving && moving.querySelector(".crm-move-open");
      if (button) button.focus();
    });
    dialog.querySelectorAll(".crm-move-to").forEach(function (choice) {
      choice.addEventListener("click", function () {
        var card = moving;
        var target = board.querySelector('.crm-board-cards[data-stage="' + choice.dataset.stage + '"]');
        dialog.close();
        if (!card || !target) return;
        var from = card.parentNode;
        card._origin = { list: from, index: Array.prototype.indexOf.call(from.children, card) };
        target.insertBefore(card, target.firstChild);
        var url = moveUrl.replace("/0/", "/" + card.dataset.deal + "/") + window.location.search;
        htmx.ajax("POST", url, { source: card, target: "#board-message", swap: "innerHTML", values: { stage: choice.dataset.stage } });
        card.querySelector(".crm-move-open").focus();
      });
    });
  }
  function isCard(element) {
    return element && element.classList && element.classList.contains("crm-deal-card");
  }
  // crm.js swaps a 409's message into the target; any answer but 200 puts the card back.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var card = event.detail.elt;
    if (!isCard(card) || !card._origin) return;
    var origin = card._origin;
    delete card._origin;
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 200) return;
    origin.list.insertBefore(card, origin.list.children[origin.index] || null);
    if (!xhr || xhr.status !== 409) {
      message.innerHTML = "";
      var div = document.createElement("div");
      div.className = "alert alert-danger mb-0";
      div.setAttribute("role", "alert");
      div.textContent = (document.body.dataset.errorText || "Error") + (xhr ? " (" + xhr.status + ")" : "");
      message.appendChild(div);
    }
  });
})();
