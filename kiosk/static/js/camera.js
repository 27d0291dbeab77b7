// Camera QR scanning for the guard's tablet page (ES module).
//
// Page contract (kiosk/templates/gate/index.html):
//   #gate[data-zxing-base]            URL of the vendored zxing-wasm folder, ending in "/"
//   [data-action="camera"]            starts the camera
//   [data-action="camera-off"]        stops it
//   #camera (hidden), #camera-video, #camera-status, #torch-button[data-action="torch"]
//   <template id="msg-camera-on">, <template id="msg-camera-error">
//   window.kioskGate = { handleCode(text, source), isBusy() }   (gate.js)
//
// Nothing is loaded from the internet: the reader module and its .wasm come from
// data-zxing-base (kiosk/static/vendor/zxing-wasm/, see vendor/README.md).

const READER_MODULE = "es/reader/index.js"; // imports "../share.js" from the same folder tree
const WASM_DIR = "reader/"; // zxing_reader.wasm
const MAX_SIDE = 960; // downscale frames so the longer side is at most this
const INTERVAL_MS = 100; // ~10 decodes per second at most
const ERROR_RETRY_MS = 1000;
const REPEAT_MS = 4000; // the same text is not submitted again within this time
const READER_OPTIONS = {
  formats: ["QRCode"],
  tryHarder: true,
  tryRotate: false, // matters for linear codes only
  tryInvert: true, // passes shown in a phone's dark mode
  maxNumberOfSymbols: 1,
};
const CONSTRAINTS = {
  video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
  audio: false,
};

const gate = document.getElementById("gate");
const section = document.getElementById("camera");
const video = document.getElementById("camera-video");
const statusEl = document.getElementById("camera-status");
const torchButton = document.getElementById("torch-button");

let stream = null;
let track = null;
let running = false;
let generation = 0; // bumped by start/stop so stale async work gives up
let timer = 0;
let torchOn = false;
let readerPromise = null;
let canvas = null;
let ctx = null;
let decodes = 0;
let decodeMsTotal = 0;
let lastDecodeMs = 0;
let lastText = "";
let lastTime = -Infinity;

function message(id) {
  const tpl = document.getElementById(id);
  return tpl ? tpl.content.textContent.trim() : "";
}

function setStatus(text, error) {
  if (!statusEl) return;
  statusEl.textContent = text;
  if (error) {
    statusEl.dataset.error = String((error && error.name) || "Error") + ": " + String((error && error.message) || error);
  } else {
    delete statusEl.dataset.error;
  }
}

function showError(error) {
  setStatus(message("msg-camera-error") || String((error && error.message) || error), error || true);
}

function zxingBase() {
  let base = (gate && gate.dataset.zxingBase) || "";
  if (!base) throw new Error("data-zxing-base is missing on #gate");
  if (!base.endsWith("/")) base += "/";
  return new URL(base, document.baseURI).href;
}

function loadReader() {
  if (!readerPromise) {
    readerPromise = (async () => {
      const base = zxingBase();
      const zxing = await import(base + READER_MODULE);
      // Fetch the .wasm from our static folder, never from the package's default CDN.
      await zxing.prepareZXingModule({
        overrides: {
          locateFile: (path, prefix) => (path.endsWith(".wasm") ? base + WASM_DIR + path : prefix + path),
        },
        fireImmediately: true,
      });
      return zxing;
    })();
    readerPromise.catch(() => {
      readerPromise = null; // allow a retry on the next start
    });
  }
  return readerPromise;
}

function grabFrame() {
  const vw = video.videoWidth;
  const vh = video.videoHeight;
  if (!vw || !vh || video.readyState < 2) return null; // HAVE_CURRENT_DATA
  const scale = Math.min(1, MAX_SIDE / Math.max(vw, vh));
  const w = Math.max(1, Math.round(vw * scale));
  const h = Math.max(1, Math.round(vh * scale));
  if (!canvas) {
    canvas = document.createElement("canvas");
    ctx = canvas.getContext("2d", { willReadFrequently: true });
  }
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  ctx.drawImage(video, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h);
}

function gateReady() {
  const kg = window.kioskGate;
  if (!kg || typeof kg.handleCode !== "function") return null;
  try {
    if (typeof kg.isBusy === "function" && kg.isBusy()) return null;
  } catch (_) {
    return null;
  }
  return kg;
}

function deliver(text) {
  const now = performance.now();
  if (text === lastText && now - lastTime < REPEAT_MS) {
    // Still in view: the window slides, so a code held up is sent once, not every 4 s.
    lastTime = now;
    return;
  }
  const kg = gateReady();
  if (!kg) return; // no gate, or a result / keypad overlay is open: skip this frame's result
  lastText = text;
  lastTime = now;
  kg.handleCode(text, "camera");
}

function schedule(gen, delay) {
  clearTimeout(timer);
  timer = setTimeout(() => tick(gen), delay);
}

async function tick(gen) {
  if (!running || gen !== generation) return;
  const started = performance.now();
  let delay = INTERVAL_MS;
  try {
    // While the gate is busy, frames are still read (cheaply, about 8 ms) so that a code
    // held in view keeps its repeat window open; only delivery waits.
    if (window.kioskGate) {
      const imageData = grabFrame();
      if (imageData) {
        const zxing = await loadReader();
        const t0 = performance.now();
        const results = await zxing.readBarcodes(imageData, READER_OPTIONS);
        lastDecodeMs = performance.now() - t0;
        decodeMsTotal += lastDecodeMs;
        decodes += 1;
        if (!running || gen !== generation) return;
        const hit = results.find((r) => r && r.isValid !== false && r.text);
        if (hit) deliver(hit.text);
      }
    }
    if (statusEl && statusEl.dataset.error) setStatus(message("msg-camera-on"));
  } catch (error) {
    if (!running || gen !== generation) return;
    showError(error);
    delay = ERROR_RETRY_MS;
  }
  // The next decode starts only after this one has finished: never overlapping.
  schedule(gen, Math.max(0, delay - (performance.now() - started)));
}

function stopTracks(s) {
  if (s) s.getTracks().forEach((t) => t.stop());
}

async function start() {
  if (running || !section || !video) return;
  const gen = ++generation;
  running = true;
  section.hidden = false;
  if (torchButton) torchButton.hidden = true;
  setStatus("");
  const reader = loadReader(); // fetch and compile the .wasm while the camera starts
  reader.catch(() => {}); // reported below
  try {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("getUserMedia is not available (needs HTTPS or localhost)");
    }
    const s = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
    if (gen !== generation) {
      stopTracks(s); // stopped while we waited for permission
      return;
    }
    stream = s;
    track = s.getVideoTracks()[0] || null;
    video.muted = true;
    video.setAttribute("playsinline", "");
    video.srcObject = s;
    try {
      await video.play();
    } catch (error) {
      if (gen !== generation) return; // play() aborted by stop()
      throw error;
    }
    if (gen !== generation) return;
    let caps = {};
    try {
      caps = (track && track.getCapabilities && track.getCapabilities()) || {};
    } catch (_) {
      caps = {};
    }
    torchOn = false;
    if (torchButton) {
      torchButton.hidden = caps.torch !== true;
      torchButton.setAttribute("aria-pressed", "false");
    }
    setStatus(message("msg-camera-on"));
    await reader;
    if (gen !== generation) return;
    schedule(gen, 0);
  } catch (error) {
    if (gen !== generation) return;
    running = false;
    stopTracks(stream);
    stream = null;
    track = null;
    if (video) video.srcObject = null;
    if (torchButton) torchButton.hidden = true;
    showError(error); // #camera stays visible so the message is seen; "Stop camera" hides it
  }
}

function stop() {
  generation += 1;
  running = false;
  clearTimeout(timer);
  stopTracks(stream);
  stream = null;
  track = null;
  torchOn = false;
  if (video) {
    video.pause();
    video.srcObject = null;
  }
  if (torchButton) {
    torchButton.hidden = true;
    torchButton.setAttribute("aria-pressed", "false");
  }
  if (section) section.hidden = true;
  setStatus("");
}

async function toggleTorch() {
  if (!track) return;
  const want = !torchOn;
  try {
    await track.applyConstraints({ advanced: [{ torch: want }] });
    torchOn = want;
    if (torchButton) torchButton.setAttribute("aria-pressed", want ? "true" : "false");
  } catch (error) {
    showError(error);
  }
}

function on(selector, handler) {
  const root = gate || document;
  root.querySelectorAll(selector).forEach((el) =>
    el.addEventListener("click", (event) => {
      event.preventDefault();
      handler();
    })
  );
}

on('[data-action="camera"]', () => {
  start();
});
on('[data-action="camera-off"]', stop);
on('[data-action="torch"]', () => {
  toggleTorch();
});
window.addEventListener("pagehide", () => {
  if (running) stop();
});

window.kioskCamera = {
  start,
  stop,
  running: () => running,
  decodeCount: () => decodes,
  // For measurements: milliseconds spent in readBarcodes.
  decodeStats: () => ({ count: decodes, avgMs: decodes ? decodeMsTotal / decodes : 0, lastMs: lastDecodeMs }),
};
