// Live updates arrive over the discussion's event stream (htmx's SSE extension). A browser
// that reconnects is sent what it missed; this keeps anything already on the page from
// being added twice: an event id seen before, or a new post whose element is already here.
(function () {
  "use strict";
  var applied = new Set();
  document.addEventListener("htmx:sseBeforeMessage", function (evt) {
    var message = evt.detail;
    if (message.lastEventId) {
      if (applied.has(message.lastEventId)) {
        evt.preventDefault();
        return;
      }
      applied.add(message.lastEventId);
    }
    if (message.type === "position" || message.type === "rebuttal") {
      var root = /\bid="((?:position|rebuttal)-\d+)"/.exec(message.data || "");
      if (root && document.getElementById(root[1])) {
        evt.preventDefault();
      }
    }
  });
})();
