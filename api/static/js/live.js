// Live events: WebSocket /api/live, falling back to Server-Sent Events /api/live/sse.
// Reconnects by itself with a growing delay; `onStatus("live" | "connecting" | "offline")`.

const TYPES = ["incident.opened", "incident.updated", "camera.status"];

export function connectLive(onEvent, onStatus = () => {}) {
  let socket = null;
  let source = null;
  let delay = 1000;
  let wsFailures = 0;
  let stopped = false;
  let timer = null;

  function deliver(raw) {
    let message;
    try {
      message = typeof raw === "string" ? JSON.parse(raw) : raw;
    } catch {
      return;
    }
    if (message && typeof message === "object" && message.type) onEvent(message);
  }

  function retry() {
    if (stopped) return;
    onStatus("offline");
    clearTimeout(timer);
    timer = setTimeout(open, delay);
    delay = Math.min(delay * 2, 15000);
  }

  function openSocket() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let opened = false;
    try {
      socket = new WebSocket(`${scheme}//${location.host}/api/live`);
    } catch {
      // No WebSocket support (or blocked by policy): go straight to Server-Sent Events.
      socket = null;
      wsFailures = 2;
      open();
      return;
    }
    socket.addEventListener("open", () => {
      opened = true;
      wsFailures = 0;
      delay = 1000;
      onStatus("live");
    });
    socket.addEventListener("message", (event) => deliver(event.data));
    socket.addEventListener("close", () => {
      socket = null;
      if (!opened) wsFailures += 1;
      retry();
    });
  }

  function openEventSource() {
    source = new EventSource("/api/live/sse", { withCredentials: true });
    source.addEventListener("open", () => {
      delay = 1000;
      onStatus("live");
    });
    source.addEventListener("message", (event) => deliver(event.data));
    for (const type of TYPES) {
      source.addEventListener(type, (event) => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          return;
        }
        deliver(data && data.type ? data : { type, ...data });
      });
    }
    source.addEventListener("error", () => {
      source.close();
      source = null;
      // Try the WebSocket again now and then; it may have been a proxy hiccup.
      wsFailures = wsFailures >= 6 ? 0 : wsFailures + 1;
      retry();
    });
  }

  function open() {
    if (stopped) return;
    onStatus("connecting");
    // Two WebSocket attempts that never opened: the path is probably blocked, use SSE.
    const noSocket = typeof WebSocket === "undefined";
    if ((noSocket || wsFailures >= 2) && typeof EventSource !== "undefined") openEventSource();
    else openSocket();
  }

  open();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close();
      if (source) source.close();
    },
  };
}
