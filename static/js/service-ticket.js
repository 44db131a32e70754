// Ticket page: a canned reply fills the reply box; "#reply" (the queue's r key) focuses it.
(function () {
  "use strict";
  const box = document.querySelector("#reply textarea");
  document.querySelectorAll("[data-canned]").forEach((button) => {
    button.addEventListener("click", () => {
      if (!box) return;
      box.value = box.value ? box.value + "\n\n" + button.dataset.canned : button.dataset.canned;
      box.focus();
    });
  });
  if (box && window.location.hash === "#reply") box.focus();
})();
