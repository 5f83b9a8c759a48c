#!/usr/bin/env python3
"""Drives headless Chromium through the DevTools protocol, for the web page's tests.

    drive.py URL STEPS.json

STEPS is a list of {"eval": JS (optional), "until": JS (optional), "timeout": seconds,
"screenshot": PATH (optional)}: each step evaluates `eval`, waits until `until` is true, and saves
a screenshot. Prints one JSON line per step ({"ok": bool, "value": ...}) and exits 1 on the first
step that times out. Chromium is this script's child, ended (SIGTERM) when it ends.
Only the standard library: a minimal WebSocket client (RFC 6455, masked text frames).
"""
import base64, json, os, shutil, signal, socket, struct, subprocess, sys, tempfile, time, urllib.request

url, steps = sys.argv[1], json.load(open(sys.argv[2]))
profile = tempfile.mkdtemp(prefix="netlab-chromium-")
browser = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1400,1000", url],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def finish(code):
    browser.send_signal(signal.SIGTERM)
    try:
        browser.wait(timeout=10)
    except subprocess.TimeoutExpired:
        browser.kill()
        browser.wait()
    shutil.rmtree(profile, ignore_errors=True)
    sys.exit(code)

try:
    port = None
    for _ in range(200):
        try:
            port = int(open(os.path.join(profile, "DevToolsActivePort")).readline())
            break
        except (OSError, ValueError):
            time.sleep(0.05)
    pages = []
    for _ in range(100):
        pages = [t for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
                 if t["type"] == "page" and t.get("url", "").startswith(url.split("#")[0])]
        if pages:
            break
        time.sleep(0.05)
    path = pages[0]["webSocketDebuggerUrl"].split(f":{port}", 1)[1]
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(4096)
    pending = reply.split(b"\r\n\r\n", 1)[1]

    def recv_exact(n):
        global pending
        while len(pending) < n:
            pending += sock.recv(65536)
        data, pending = pending[:n], pending[n:]
        return data

    def send(message):
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive():
        first, second = recv_exact(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", recv_exact(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", recv_exact(8))[0]
        data = recv_exact(length)
        return json.loads(data) if first & 0x0F == 1 else None

    counter = [0]
    def call(method, **params):
        counter[0] += 1
        send({"id": counter[0], "method": method, "params": params})
        while True:
            message = receive()
            if message and message.get("id") == counter[0]:
                return message.get("result", {})

    def evaluate(expression):
        result = call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    for step in steps:
        if step.get("eval"):
            evaluate(step["eval"])
        ok, value = True, None
        if step.get("until"):
            deadline = time.time() + step.get("timeout", 10)
            ok = False
            while time.time() < deadline:
                value = evaluate(step["until"])
                if value:
                    ok = True
                    break
                time.sleep(0.2)
        if step.get("screenshot"):
            shot = call("Page.captureScreenshot", format="png")
            open(step["screenshot"], "wb").write(base64.b64decode(shot["data"]))
        print(json.dumps({"ok": ok, "value": value}), flush=True)
        if not ok:
            finish(1)
    finish(0)
except Exception as error:
    print(json.dumps({"ok": False, "value": f"driver: {error!r}"}), flush=True)
    finish(1)
