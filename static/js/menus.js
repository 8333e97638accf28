// Keeps the <details> menus (header .nav-menu, row .dropdown) tidy: one open at a time,
// closed by a click outside or Escape. Without this file the menus still open and close.
(function () {
  "use strict";

  var SELECTOR = "details.nav-menu, details.dropdown";

  function openMenus() {
    return document.querySelectorAll(SELECTOR + "[open]");
  }

  function closeAll(except) {
    openMenus().forEach(function (menu) {
      if (menu !== except) {
        menu.open = false;
      }
    });
  }

  // "toggle" does not bubble; listen in the capture phase so swapped-in rows work too.
  document.addEventListener(
    "toggle",
    function (event) {
      var menu = event.target;
      if (menu.matches && menu.matches(SELECTOR) && menu.open) {
        closeAll(menu);
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.open = false;
      }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var current = event.target.closest && event.target.closest(SELECTOR + "[open]");
    closeAll(null);
    if (current) {
      current.querySelector("summary").focus();
    }
  });
})();
