// The admin's periodic task form (django-celery-beat): under the crontab field, the chosen
// schedule in words. django-celery-beat does this in an inline script, which our
// Content-Security-Policy blocks; this file does the same (templates/admin/djcelery/).
(function () {
  "use strict";

  var script = document.currentScript;
  var data = document.getElementById("readable-crontabs");
  var select = document.getElementById("id_crontab");
  if (!data || !select) {
    return;
  }
  var readable = JSON.parse(data.textContent);
  var help = document.querySelector(".field-crontab .help");
  var readOnlyRow = document.querySelector(".field-crontab_translation");
  if (!help) {
    return;
  }
  // The same words, read-only, for the saved schedule only: the line under the field replaces it.
  if (readOnlyRow) {
    readOnlyRow.style.display = "none";
  }
  var words = document.createElement("div");
  help.appendChild(words);

  function update() {
    var text = readable[select.value];
    words.textContent = text ? script.getAttribute("data-label") + " " + text : "";
  }

  select.addEventListener("change", update);
  update();
})();
