// Sign-up: the server guessed a time zone from the browser's language; the browser knows its
// own. Selects marked data-browser-time-zone take it when they offer it. Without this file the
// server's guess stays selected.
(function () {
  "use strict";

  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) {
    return;
  }

  function apply() {
    document.querySelectorAll("select[data-browser-time-zone]").forEach(function (select) {
      var offered = Array.prototype.some.call(select.options, function (option) {
        return option.value === zone;
      });
      if (offered) {
        select.value = zone;
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", apply);
  } else {
    apply();
  }
})();
