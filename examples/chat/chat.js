// The chat page's script (Tornado's chat demo, both transports): with
// ?transport=poll it posts to a/message/new and waits for news on
// a/message/updates (long polling); otherwise it sends and receives over
// the chatsocket WebSocket. Either way window.chatReady turns true once
// it listens, and every message shows once in #inbox.
'use strict';
(function () {
  const prefix = window.chatPrefix || '';
  const poll = new URLSearchParams(location.search).get('transport') === 'poll';
  const inbox = document.getElementById('inbox');
  const status = document.getElementById('status');
  window.chatReady = false;

  function lastId() {
    const all = inbox.querySelectorAll('.message');
    return all.length ? all[all.length - 1].id.substring(1) : '0';
  }

  function show(m) {
    if (document.getElementById('m' + m.id)) return;
    const div = document.createElement('div');
    div.className = 'message';
    div.id = 'm' + m.id;
    div.textContent = m.body;
    inbox.appendChild(div);
  }

  function post(url, fields) {
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async function pollLoop() {
    window.chatReady = true;
    status.textContent = 'long polling';
    for (;;) {
      try {
        const r = await post(prefix + '/a/message/updates', { cursor: lastId() });
        if (!r.ok) throw new Error('status ' + r.status);
        const data = await r.json();
        data.messages.forEach(show);
      } catch (e) {
        status.textContent = 'poll failed, retrying: ' + e;
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
  }

  let socket = null;
  function openSocket() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    socket = new WebSocket(scheme + location.host + prefix + '/chatsocket');
    socket.onopen = () => { window.chatReady = true; status.textContent = 'WebSocket open'; };
    socket.onmessage = (ev) => show(JSON.parse(ev.data));
    socket.onclose = () => { window.chatReady = false; status.textContent = 'WebSocket closed'; };
  }

  document.getElementById('messageform').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = document.getElementById('message');
    const body = input.value;
    if (!body) return;
    input.value = '';
    if (poll) {
      post(prefix + '/a/message/new', { body }).then((r) => r.json()).then(show);
    } else {
      socket.send(JSON.stringify({ body }));
    }
  });

  if (poll) pollLoop(); else openSocket();
})();
