// Keyboard shortcuts and the search dropdown. Kept small: htmx does the talking to the server.
(function () {
  "use strict";
  function typingInField(event) {
    var el = event.target;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  var search = document.getElementById("global-search");
  var suggest = document.getElementById("search-suggest");

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/" && !typingInField(event) && search) {
      event.preventDefault();
      search.focus();
      search.select();
    } else if (event.key === "?" && !typingInField(event)) {
      var button = document.getElementById("help-button");
      if (button) { event.preventDefault(); button.click(); }
    } else if (event.key === "Escape" && suggest && suggest.innerHTML.trim()) {
      suggest.innerHTML = "";
    }
  });

  if (search && suggest) {
    // Arrow keys move from the box into the result links and between them.
    search.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        var first = suggest.querySelector("a");
        if (first) { event.preventDefault(); first.focus(); }
      }
    });
    suggest.addEventListener("keydown", function (event) {
      var links = Array.prototype.slice.call(suggest.querySelectorAll("a"));
      var index = links.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && index < links.length - 1) { event.preventDefault(); links[index + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (index > 0 ? links[index - 1] : search).focus(); }
    });
    document.addEventListener("click", function (event) {
      if (!suggest.contains(event.target) && event.target !== search) suggest.innerHTML = "";
    });
  }

  // A refused htmx request (403, 409, 422 ...) still shows its message instead of failing silently.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409 || status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (status >= 400) {
      var box = document.getElementById("messages");
      if (box) {
        var div = document.createElement("div");
        div.className = "alert alert-danger";
        div.setAttribute("role", "alert");
        // The texts are translated in the layout (templates/base.html: data-error-*), so the
        // message is in the page's language.
        var texts = document.body.dataset;
        div.textContent = (texts["error" + status] || texts.errorDefault) + " (" + status + ")";
        box.appendChild(div);
      }
    }
  });
  document.body.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("messages");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "alert alert-danger";
    div.setAttribute("role", "alert");
    div.textContent = document.body.dataset.errorOffline;
    box.appendChild(div);
  });
})();

// Autocomplete widgets (crm/widgets.py): picking a suggestion fills the hidden id.
document.addEventListener("click", function (event) {
  var option = event.target.closest("[data-autocomplete-option]");
  if (!option) return;
  event.preventDefault();
  var box = option.closest("[data-autocomplete]");
  box.querySelector("[data-autocomplete-value]").value = option.dataset.value;
  box.querySelector("[data-autocomplete-text]").value = option.dataset.label;
  option.parentElement.innerHTML = "";
});
document.addEventListener("input", function (event) {
  // Clearing the text clears the chosen id, so an emptied field really is empty.
  if (event.target.matches("[data-autocomplete-text]") && !event.target.value) {
    event.target.closest("[data-autocomplete]").querySelector("[data-autocomplete-value]").value = "";
  }
});

// What inline handlers and style attributes used to do; the Content-Security-Policy allows neither.
// <select data-submit-on-change> submits its form when a value is picked.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("select[data-submit-on-change]") && field.form) field.form.submit();
});
// <form data-confirm="Question?"> asks before it is sent.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
// Progress bars: <div class="progress-bar" data-progress="42"> gets its width, also when htmx
// swaps in a new state (htmx.onLoad runs for the page and for every swapped fragment).
htmx.onLoad(function (root) {
  var bars = root.querySelectorAll ? Array.prototype.slice.call(root.querySelectorAll("[data-progress]")) : [];
  if (root.matches && root.matches("[data-progress]")) bars.push(root);
  bars.forEach(function (bar) {
    var percent = Math.max(0, Math.min(100, parseFloat(bar.dataset.progress) || 0));
    bar.style.width = percent + "%";
  });
});
