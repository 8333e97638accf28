// Copy buttons: <button data-copy="#input-id" data-copied="Copied">. The text stays selectable
// in its read-only field, so without this file (or without clipboard access) it is copied by hand.
(function () {
  "use strict";

  function select(field) {
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
  }

  function copied(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || label;
    button.classList.add("is-copied");
    window.setTimeout(function () {
      button.textContent = label;
      button.classList.remove("is-copied");
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    var text = field.value !== undefined ? field.value : field.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          copied(button);
        },
        function () {
          select(field);
        }
      );
      return;
    }
    // Plain http (a dev server on a LAN address): the older API still copies a selection.
    select(field);
    try {
      if (document.execCommand("copy")) {
        copied(button);
      }
    } catch (error) {
      // Left selected: the buyer copies it with the keyboard.
    }
  });
})();
