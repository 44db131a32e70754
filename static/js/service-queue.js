// Keyboard navigation of the ticket queue: j/k move, o (or Enter) opens, r opens the reply box,
// x ticks the row for bulk actions. Keys are ignored while typing in a form field.
(function () {
  "use strict";
  let current = -1;

  function rows() {
    return Array.from(document.querySelectorAll("table[data-queue] tbody tr[data-url]"));
  }

  function select(index) {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("table-active", i === current));
    all[current].focus();
    all[current].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("htmx:afterSwap", () => { current = -1; });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest("input, textarea, select, [contenteditable=true]")) return;
    const all = rows();
    if (!all.length) return;
    if (event.key === "j") { select(current + 1); event.preventDefault(); }
    else if (event.key === "k") { select(current - 1); event.preventDefault(); }
    else if ((event.key === "o" || event.key === "Enter") && current >= 0) { window.location = all[current].dataset.url; }
    else if (event.key === "r" && current >= 0) { window.location = all[current].dataset.url + "#reply"; }
    else if (event.key === "x" && current >= 0) {
      const box = all[current].querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    }
  });
})();
