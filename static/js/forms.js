/* Forms: after a refused submit, move focus to the error summary, so a keyboard or screen
   reader user hears what went wrong and can follow its links to each field. */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
