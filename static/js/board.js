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
