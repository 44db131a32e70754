// Booking page: on the first visit, show the times in the browser's own time zone.
(function () {
  var select = document.getElementById("id_tz");
  if (!select || select.dataset.fromBrowser !== "1" || !window.Intl) return;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone || zone === select.value) return;
  for (var i = 0; i < select.options.length; i++) {
    if (select.options[i].value === zone) {
      select.value = zone;
      document.getElementById("zone-form").submit();
      return;
    }
  }
})();
