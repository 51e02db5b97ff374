/* Ask before an irreversible action. A form marked data-confirm="…" submits only once the
   person accepts the browser's own confirm() dialog (no inline script: the CSP forbids it).
   Without JavaScript the form still posts; the server checks every action either way. */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
}());
