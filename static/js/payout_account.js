// Payout accounts: show only the fields of the kind chosen (Pix, IBAN, CLABE, Colombian bank).
// Fields carry data-payout-kind (accounts.forms.PayoutAccountForm); without this file every
// field stays visible and the server ignores the other kinds' values.
(function () {
  "use strict";

  function apply() {
    var kind = document.querySelector("select[name=kind]");
    if (!kind) {
      return;
    }
    function show() {
      document.querySelectorAll("[data-payout-kind]").forEach(function (input) {
        var field = input.closest(".field") || input;
        field.hidden = input.getAttribute("data-payout-kind") !== kind.value;
      });
    }
    kind.addEventListener("change", show);
    show();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", apply);
  } else {
    apply();
  }
})();
