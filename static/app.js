// dcabot: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // The mobile menu button shows and hides the navigation links.
  var toggle = document.querySelector(".nav-toggle");
  var links = document.getElementById("nav-links");
  if (toggle && links) {
    toggle.addEventListener("click", function () {
      var open = links.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // Buttons with data-confirm ask before their form is sent (delete, stop, ...).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var text = button && button.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  });

  // "Copy" buttons copy the text of the element named by data-copy (recovery codes).
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.innerText).then(function () {
          button.textContent = "Copied";
        });
      }
    });
  });
})();
