// Audible cues made with WebAudio (no audio files). Browsers only allow sound after a
// user gesture, so `unlock()` must run from a click before cues are heard.

let ctx = null;

function context() {
  if (!ctx) {
    const Ctor = window.AudioContext || window.webkitAudioContext;
    if (!Ctor) return null;
    ctx = new Ctor();
  }
  return ctx;
}

export function soundReady() {
  return Boolean(ctx && ctx.state === "running");
}

export async function unlock() {
  const audio = context();
  if (audio && audio.state !== "running") await audio.resume();
  return soundReady();
}

function tone(audio, start, frequency, length, type) {
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.type = type;
  osc.frequency.value = frequency;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.25, start + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
  osc.connect(gain).connect(audio.destination);
  osc.start(start);
  osc.stop(start + length + 0.02);
}

/** kind "alert": two rising beeps; kind "offline": one low falling pair. */
export function beep(kind = "alert") {
  const audio = context();
  if (!audio || audio.state !== "running") return false;
  const now = audio.currentTime + 0.01;
  if (kind === "offline") {
    tone(audio, now, 520, 0.22, "square");
    tone(audio, now + 0.26, 330, 0.32, "square");
  } else {
    tone(audio, now, 880, 0.14, "sine");
    tone(audio, now + 0.18, 1320, 0.18, "sine");
  }
  return true;
}
