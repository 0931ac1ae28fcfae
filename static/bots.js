// Bots pages: hide the key fields for paper bots and test keys without clearing the form.
// Loaded as a file (the CSP forbids inline scripts); every page works without it.
(function () {
  "use strict";

  function toggleKeys(form) {
    var select = form.querySelector("select[name=exchange]");
    var keys = form.querySelector("fieldset[data-keys-for]");
    if (!select || !keys) {
      return;
    }
    var wanted = keys.getAttribute("data-keys-for").split(" ");
    keys.hidden = wanted.indexOf(select.value) === -1;
  }

  function showResult(box, ok, lines) {
    box.textContent = "";
    box.className = "key-check flash flash-" + (ok ? "success" : "error");
    lines.forEach(function (line) {
      if (line) {
        var p = document.createElement("p");
        p.textContent = line;
        box.appendChild(p);
      }
    });
  }

  function checkKeys(form, button) {
    var box = form.querySelector(".key-check");
    if (!box || !window.fetch) {
      return false;
    }
    var data = new FormData(form);
    data.delete(button.name);
    button.disabled = true;
    showResult(box, true, ["Testing the key…"]);
    fetch(box.getAttribute("data-check-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (response) { return response.json(); })
      .then(function (report) {
        showResult(box, report.ok, [report.message, report.ok ? report.note : ""]);
      })
      .catch(function () {
        showResult(box, false, ["The test could not be run; try again."]);
      })
      .finally(function () { button.disabled = false; });
    return true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(function (form) {
      var select = form.querySelector("select[name=exchange]");
      if (select) {
        toggleKeys(form);
        select.addEventListener("change", function () { toggleKeys(form); });
      }
      var button = form.querySelector("[data-key-check]");
      if (button) {
        button.addEventListener("click", function (event) {
          if (checkKeys(form, button)) {
            event.preventDefault();
          }
        });
      }
    });
  });
})();
