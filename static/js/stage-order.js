// Pipeline settings: drag a stage by its handle; the new order of all stages is posted at once.
// The up/down buttons beside each stage do the same without a mouse or without JavaScript.
(function () {
  "use strict";
  var list = document.querySelector(".crm-stage-list");
  if (!list || typeof Sortable === "undefined") return;
  var message = document.getElementById("stage-order-message");
  function say(text, failed) {
    message.textContent = text;
    message.className = "small mb-2 " + (failed ? "text-danger" : "text-success");
  }
  function refreshButtons() {
    var items = list.querySelectorAll("[data-stage]");
    items.forEach(function (item, index) {
      var buttons = item.querySelectorAll("form button");
      if (buttons.length === 2) {
        buttons[0].disabled = index === 0;
        buttons[1].disabled = index === items.length - 1;
      }
    });
  }
  Sortable.create(list, {
    handle: ".crm-drag-handle",
    draggable: "[data-stage]",
    animation: 120,
    onEnd: function (event) {
      if (event.oldIndex === event.newIndex) return;
      var body = new URLSearchParams();
      list.querySelectorAll("[data-stage]").forEach(function (item) { body.append("stage", item.dataset.stage); });
      fetch(list.dataset.reorderUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": list.dataset.csrf, "Content-Type": "application/x-www-form-urlencoded" },
      }).then(function (response) {
        return response.text().then(function (text) {
          if (!response.ok) throw new Error(text);
          say(text, false);
          refreshButtons();
        });
      }).catch(function (error) {
        say(error.message || list.dataset.error, true);
        list.removeChild(event.item);
        list.insertBefore(event.item, list.children[event.oldIndex] || null);
        refreshButtons();
      });
    },
  });
})();
