// The flow-run and task-run pages follow their run live over a websocket
// (runs.consumers.RunLogsConsumer): new log lines are appended as the run writes them (the
// server applies the page's level filter and renders each row with the page's own partial),
// and a new state updates the badge and shows the buttons that now apply. The socket resumes
// after the last row shown, so nothing is lost or repeated across reconnections.
(function () {
  "use strict";
  var table = document.querySelector("table[data-live-logs]");
  if (!table || !window.WebSocket) return;
  var body = table.tBodies[0];
  var wrap = table.closest(".table-wrap");
  var empty = document.querySelector("[data-logs-empty]");
  var status = document.querySelector("[data-live-status]");
  var overflow = document.querySelector("[data-live-overflow]");
  var badge = document.querySelector("[data-live-badge]");
  var message = document.querySelector("[data-live-message]");
  var notice = document.querySelector("[data-live-notice]");
  var MAX_ROWS = 5000;
  var delay = 1000;
  var stopped = false;
  var currentState = badge ? badge.getAttribute("data-state") : null;

  function say(text) {
    if (!status) return;
    status.hidden = !text;
    status.textContent = text;
  }

  function address() {
    var url = new URL(table.getAttribute("data-live-logs"), window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    var rows = body.querySelectorAll("tr[data-cursor]");
    if (rows.length) url.searchParams.set("after", rows[rows.length - 1].getAttribute("data-cursor"));
    return url.toString();
  }

  function append(rows) {
    var template = document.createElement("template");
    rows.forEach(function (html) {
      if (stopped) return;
      template.innerHTML = html.trim();
      var row = template.content.firstElementChild;
      if (!row || (row.id && document.getElementById(row.id))) return;
      if (body.rows.length >= MAX_ROWS) {
        stopped = true;
        if (overflow) overflow.hidden = false;
        return;
      }
      body.appendChild(row);
    });
    if (body.rows.length) {
      if (wrap) wrap.hidden = false;
      if (empty) empty.hidden = true;
    }
  }

  function showState(update) {
    if (badge && update.badge) badge.innerHTML = update.badge;
    if (message) {
      message.textContent = update.message || "";
      message.hidden = !update.message;
    }
    document.querySelectorAll("[data-when]").forEach(function (element) {
      element.hidden = element.getAttribute("data-when").split(" ").indexOf(update.state_type) < 0;
    });
    if (notice && currentState !== null && currentState !== update.state_name) {
      notice.querySelector("[data-live-state]").textContent = update.state_name;
      notice.hidden = false;
    }
    currentState = update.state_name;
  }

  function connect() {
    if (stopped) return;
    var socket = new WebSocket(address());
    socket.onopen = function () {
      delay = 1000;
      say("Live");
    };
    socket.onmessage = function (event) {
      var update;
      try {
        update = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (update.type === "logs") append(update.rows || []);
      else if (update.type === "state") showState(update);
      else if (update.type === "overflow") {
        stopped = true;
        if (overflow) overflow.hidden = false;
        socket.close();
      }
    };
    socket.onclose = function () {
      if (stopped) {
        say("");
        return;
      }
      say("Reconnecting…");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  window.addEventListener("pagehide", function () {
    stopped = true;
  });
  connect();
})();
