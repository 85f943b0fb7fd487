// The notification form's choice of service: show the chosen service's settings at once.
// Every service's settings are on the page, all but the chosen one hidden and disabled (so they
// are neither checked nor sent); without JavaScript, "Show its settings" asks the server.
(function () {
  "use strict";
  var form = document.querySelector("form[data-service-choice]");
  if (!form) return;
  var panels = form.querySelectorAll("fieldset[data-service]");
  var radios = form.querySelectorAll('input[name="service"]');

  function show(slug) {
    panels.forEach(function (panel) {
      var chosen = panel.getAttribute("data-service") === slug;
      panel.hidden = !chosen;
      panel.disabled = !chosen;
    });
  }

  radios.forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked) show(radio.value);
    });
  });
  // A page restored from the back/forward cache keeps the radio the person last chose.
  var checked = form.querySelector('input[name="service"]:checked');
  if (checked) show(checked.value);
  var choose = form.querySelector("[data-choose]");
  if (choose) choose.closest(".choose-service").remove();
})();
