// The simulator page: sends what a customer does to /simulator/api/send (the server signs it and posts
// real WeChat XML to the webhook) and shows the conversation's transcript and the demo SMS outbox.
(function () {
  "use strict";
  var KEY = "powerbot-simulator-openid";
  var $ = function (selector) { return document.querySelector(selector); };
  var state = { openid: null, cursor: 0, smsCursor: 0, polling: false };

  function newOpenid() {
    var chars = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var id = "sim-";
    for (var i = 0; i < bytes.length; i++) { id += chars[bytes[i] % chars.length]; }
    return id;
  }

  function setStatus(text) { $("#status").textContent = text || ""; }

  function bubble(message) {
    var div = document.createElement("div");
    div.className = "bubble " + message.from;
    div.setAttribute("data-id", message.id);
    if (message.from === "agent") {
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = "人工客服";
      div.appendChild(who);
    }
    if (message.label) {  // a notice pushed by the worker (the label comes from bot/messages.py)
      var label = document.createElement("span");
      label.className = "who";
      label.textContent = message.label;
      div.appendChild(label);
    }
    div.appendChild(document.createTextNode(message.text));
    var at = document.createElement("span");
    at.className = "at";
    at.textContent = message.at;
    div.appendChild(at);
    var list = $("#messages");
    list.appendChild(div);
    list.scrollTop = list.scrollHeight;
  }

  function sms(item) {
    var li = document.createElement("li");
    var to = document.createElement("span");
    to.className = "to";
    to.textContent = item.at + " 发往 " + item.to;
    li.appendChild(to);
    li.appendChild(document.createTextNode(item.body));
    $("#sms").insertBefore(li, $("#sms").firstChild);
  }

  function poll() {
    if (state.polling) { return Promise.resolve(); }
    state.polling = true;
    var url = "/simulator/api/updates?openid=" + encodeURIComponent(state.openid) +
      "&after=" + state.cursor + "&sms_after=" + state.smsCursor;
    return fetch(url).then(function (r) { return r.json(); }).then(function (data) {
      (data.messages || []).forEach(bubble);
      (data.sms || []).forEach(sms);
      state.cursor = data.cursor || state.cursor;
      state.smsCursor = data.sms_cursor || state.smsCursor;
    }).catch(function () { setStatus("连接中断，正在重试…"); }).then(function () { state.polling = false; });
  }

  function send(kind, payload) {
    var body = Object.assign({ openid: state.openid, kind: kind }, payload || {});
    setStatus("发送中…");
    return fetch("/simulator/api/send", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (result) {
        if (!result.ok || result.data.status !== 200) {
          setStatus("发送失败：" + (result.data.error || ("HTTP " + result.data.status)));
          return;
        }
        setStatus(result.data.passive ? "" : "已送达，回复稍后通过客服消息送达…");
        return poll();
      }).catch(function () { setStatus("发送失败，请重试"); });
  }

  function drawMenu(menu) {
    var nav = $("#menu");
    nav.innerHTML = "";
    menu.forEach(function (top) {
      var cell = document.createElement("div");
      cell.className = "top";
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = top.name;
      cell.appendChild(button);
      if (top.sub_buttons && top.sub_buttons.length) {
        var sub = document.createElement("div");
        sub.className = "submenu";
        sub.hidden = true;
        top.sub_buttons.forEach(function (item) {
          var b = document.createElement("button");
          b.type = "button";
          b.textContent = item.name;
          b.setAttribute("data-key", item.key || "");
          b.addEventListener("click", function () {
            sub.hidden = true;
            if (item.url) {
              window.open(item.url, "_blank", "noopener");
              send("view", { url: item.url });
            } else {
              send("click", { key: item.key });
            }
          });
          sub.appendChild(b);
        });
        cell.appendChild(sub);
        button.addEventListener("click", function () {
          var open = sub.hidden;
          document.querySelectorAll(".submenu").forEach(function (el) { el.hidden = true; });
          sub.hidden = !open;
        });
      } else {
        button.addEventListener("click", function () { send("click", { key: top.key }); });
      }
      nav.appendChild(cell);
    });
  }

  function start(fresh) {
    state.cursor = 0;
    $("#messages").innerHTML = "";
    if (fresh) {
      send("subscribe", {});
    } else {
      poll();
    }
  }

  $("#composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("#text").value.trim();
    if (!text) { return; }
    $("#text").value = "";
    send("text", { text: text });
  });
  $("#tools-toggle").addEventListener("click", function () {
    var tools = $("#tools");
    tools.hidden = !tools.hidden;
    $("#places").hidden = true;
    this.setAttribute("aria-expanded", String(!tools.hidden));
  });
  document.querySelectorAll("#tools button").forEach(function (b) {
    b.addEventListener("click", function () {
      var tool = b.getAttribute("data-tool");
      if (tool === "location") { $("#places").hidden = !$("#places").hidden; return; }
      $("#tools").hidden = true;
      if (tool === "image") { send("image", {}); }
      if (tool === "voice") {
        var text = $("#text").value.trim();
        $("#text").value = "";
        send("voice", { recognition: text });
      }
    });
  });
  document.querySelectorAll("#places button").forEach(function (b) {
    b.addEventListener("click", function () {
      $("#places").hidden = true;
      $("#tools").hidden = true;
      send("location", {
        latitude: Number(b.getAttribute("data-lat")),
        longitude: Number(b.getAttribute("data-lng")),
        label: b.getAttribute("data-label")
      });
    });
  });
  $("#new-user").addEventListener("click", function () {
    state.openid = newOpenid();
    window.localStorage.setItem(KEY, state.openid);
    start(true);
  });

  var saved = window.localStorage.getItem(KEY);
  var fresh = !saved || !/^sim-[A-Za-z0-9]{6,40}$/.test(saved);
  state.openid = fresh ? newOpenid() : saved;
  window.localStorage.setItem(KEY, state.openid);
  fetch("/simulator/api/menu").then(function (r) { return r.json(); }).then(function (d) { drawMenu(d.menu || []); });
  start(fresh);
  window.setInterval(poll, 1000);
})();
