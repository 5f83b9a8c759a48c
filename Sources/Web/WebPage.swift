/// The page `netlab web` serves at `/`: HTML, CSS and JavaScript in one answer, so it needs no
/// CDN and no network. It draws the chosen lab as SVG (a grid in breadth-first order, so linked
/// nodes sit near each other, from 2 to 500 nodes), follows `/api/labs` every 2 s, colours and
/// thickens each link by the rates of `/api/labs/NAME/stats`, and streams the packets of a
/// clicked interface from `/api/labs/NAME/capture`.
///
/// The URL's fragment selects what to show (`#lab=NAME&capture=NODE:IFACE&filter=BPF`), so a
/// view can be linked to, and opened by a headless browser in the tests.
enum WebPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>netlab</title>
<style>
  body { font: 13px system-ui, sans-serif; margin: 0; display: flex; height: 100vh; color: #222; }
  #side { width: 220px; border-right: 1px solid #ddd; padding: 8px; overflow: auto; }
  #main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
  #drawing { flex: 1; overflow: auto; background: #fafafa; }
  #panel { height: 38%; border-top: 1px solid #ddd; display: none; flex-direction: column; }
  #panel.open { display: flex; }
  #panel header { padding: 4px 8px; background: #f0f0f0; display: flex; gap: 6px; align-items: center; }
  #packets { flex: 1; overflow: auto; margin: 0; padding: 4px 8px; font: 12px ui-monospace, monospace; white-space: pre; }
  #capture-error { color: #b00; }
  .lab { cursor: pointer; padding: 2px 4px; }
  .lab.selected { background: #dde8ff; }
  .node rect { fill: #fff; stroke: #555; }
  .node text { font-size: 11px; }
  .node .title { font-weight: bold; }
  .iface { cursor: pointer; }
  .iface:hover rect { fill: #eef; }
  .iface rect { fill: transparent; }
  .link { stroke: #999; }
  .link.stitch { stroke-dasharray: 6 3; }
  .info { fill: #666; font-size: 10px; }
</style>
</head>
<body>
<div id="side"><b>Labs</b><div id="labs">loading...</div><div id="summary"></div></div>
<div id="main">
  <div id="drawing"><svg id="svg" xmlns="http://www.w3.org/2000/svg"></svg></div>
  <div id="panel">
    <header>
      <b id="capture-title"></b>
      <input id="filter" placeholder="BPF filter, e.g. icmp or arp" size="30">
      <button id="apply">apply</button>
      <button id="pause">pause</button>
      <label><input type="checkbox" id="json"> JSON</label>
      <button id="download">download pcap</button>
      <button id="close">close</button>
      <span id="capture-error"></span>
    </header>
    <pre id="packets"></pre>
  </div>
</div>
<script>
"use strict";
const params = new URLSearchParams(location.hash.slice(1));
const token = new URLSearchParams(location.search).get("token");
const withToken = (url) => token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
let current = params.get("lab"), drawn = null, status = null, stats = null, capture = null, paused = false, shown = [], raw = [];

async function getJSON(url) {
  const response = await fetch(withToken(url));
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function refreshLabs() {
  let labs = [];
  try { labs = await getJSON("/api/labs"); } catch (e) { }
  const list = document.getElementById("labs");
  list.innerHTML = labs.length ? "" : "no labs are up";
  for (const lab of labs) {
    const item = document.createElement("div");
    item.className = "lab" + (lab.name === current ? " selected" : "");
    item.dataset.lab = lab.name;
    item.textContent = `${lab.name} (${lab.nodes} nodes, ${lab.links} links)`;
    item.onclick = () => select(lab.name);
    list.appendChild(item);
  }
  if (current && !labs.some((lab) => lab.name === current)) clearLab();
  if (!current && labs.length) select(labs[0].name);
  else if (current && drawn !== current) select(current);
}

function clearLab() {
  current = null; drawn = null; status = null;
  if (stats) { stats.close(); stats = null; }
  closeCapture();
  document.getElementById("svg").innerHTML = "";
  document.getElementById("summary").textContent = "";
}

async function select(name) {
  if (stats) { stats.close(); stats = null; }
  current = name; drawn = name;
  for (const item of document.querySelectorAll(".lab")) item.classList.toggle("selected", item.dataset.lab === name);
  try { status = await getJSON("/api/labs/" + encodeURIComponent(name)); } catch (e) { drawn = null; return; }
  draw(status);
  stats = new EventSource(withToken(`/api/labs/${encodeURIComponent(name)}/stats`));
  stats.onmessage = (event) => live(JSON.parse(event.data));
  if (params.get("capture") && params.get("lab") === name) {
    const [node, iface] = params.get("capture").split(":");
    document.getElementById("filter").value = params.get("filter") || "";
    openCapture(node, iface);
  }
}

const NS = "http://www.w3.org/2000/svg";
function el(tag, attributes, text) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A grid in breadth-first order from the best-connected node: neighbours land near each other.
function layout(nodes, links) {
  const neighbours = new Map(nodes.map((n) => [n.name, []]));
  for (const [a, b] of links) {
    const x = a.split(":")[0], y = b.split(":")[0];
    if (neighbours.has(x) && neighbours.has(y)) { neighbours.get(x).push(y); neighbours.get(y).push(x); }
  }
  const order = [], seen = new Set();
  const byDegree = [...nodes].sort((p, q) => neighbours.get(q.name).length - neighbours.get(p.name).length || p.name.localeCompare(q.name));
  for (const start of byDegree) {
    if (seen.has(start.name)) continue;
    const queue = [start.name]; seen.add(start.name);
    while (queue.length) {
      const name = queue.shift(); order.push(name);
      for (const next of neighbours.get(name).sort()) if (!seen.has(next)) { seen.add(next); queue.push(next); }
    }
  }
  return order;
}

function draw(lab) {
  const svg = document.getElementById("svg");
  svg.innerHTML = "";
  const nodes = lab.nodes, links = lab.links || [];
  const order = layout(nodes, links);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const columns = Math.max(1, Math.ceil(Math.sqrt(order.length * 1.6)));
  const width = 200, gapX = 70, gapY = 40, lineHeight = 14;
  const heights = order.map((name) => 34 + lineHeight * byName.get(name).interfaces.filter((i) => i.name !== "lo").length * 1.0 + 16);
  const rowHeight = [];
  order.forEach((name, index) => { const row = Math.floor(index / columns); rowHeight[row] = Math.max(rowHeight[row] || 0, heights[index]); });
  const rowY = [20]; for (let r = 1; r < rowHeight.length; r++) rowY[r] = rowY[r - 1] + rowHeight[r - 1] + gapY;
  const anchors = new Map();
  const layer = el("g", { id: "links" });
  svg.appendChild(layer);
  order.forEach((name, index) => {
    const node = byName.get(name), x = 20 + (index % columns) * (width + gapX), y = rowY[Math.floor(index / columns)];
    const group = el("g", { class: "node", "data-node": name, transform: `translate(${x},${y})` });
    const interfaces = node.interfaces.filter((i) => i.name !== "lo");
    group.appendChild(el("rect", { width, height: heights[index], rx: 4 }));
    const extra = [];
    if (node.hostname && node.hostname !== name) extra.push(node.hostname);
    if (node.services && node.services.length) extra.push(node.services.map((s) => `${s.name}:${s.state}`).join(" "));
    if (node.proxy) extra.push(`proxy ${node.proxy.tun}: ${node.proxy.peers.length} peers`);
    group.appendChild(el("text", { x: 6, y: 14, class: "title" }, name));
    group.appendChild(el("text", { x: 6, y: 26, class: "info" }, extra.join(" | ") || " "));
    interfaces.forEach((iface, row) => {
      const iy = 34 + row * lineHeight;
      const item = el("g", { class: "iface", "data-node": name, "data-iface": iface.name });
      item.appendChild(el("rect", { x: 2, y: iy, width: width - 4, height: lineHeight }));
      const label = `${iface.name} ${iface.kind}${iface.master ? " @" + iface.master : ""} ${iface.addresses.join(" ")}`;
      item.appendChild(el("text", { x: 6, y: iy + 11 }, label.length > 34 ? label.slice(0, 33) + "..." : label));
      item.onclick = () => openCapture(name, iface.name);
      group.appendChild(item);
      anchors.set(`${name}:${iface.name}`, [x, y + iy + lineHeight / 2]);
    });
    svg.appendChild(group);
  });
  for (const [a, b] of links) {
    const p = anchors.get(a), q = anchors.get(b);
    if (!p || !q) continue;
    const [x1, x2] = p[0] <= q[0] ? [p[0] + width, q[0]] : [p[0], q[0] + width];
    const line = el("line", { class: "link", "data-a": a, "data-b": b, x1, y1: p[1], x2, y2: q[1], "stroke-width": 1, "data-pps": 0 });
    line.appendChild(el("title", {}, `${a} - ${b}`));
    layer.appendChild(line);
  }
  for (const stitch of lab.stitches || []) {
    const p = anchors.get(`${stitch.node}:${stitch.interface}`);
    if (p) layer.appendChild(el("text", { x: p[0] + width + 4, y: p[1] + 3, class: "info" }, `~ vni ${stitch.vni} to ${stitch.peer} on ${stitch.peerHost}`));
  }
  const rows = rowHeight.length;
  svg.setAttribute("width", 40 + Math.min(columns, order.length) * (width + gapX));
  svg.setAttribute("height", rowY[rows - 1] + rowHeight[rows - 1] + 40);
  document.getElementById("summary").textContent = `${nodes.length} nodes, ${links.length} links` + (lab.host ? `, host ${lab.host}, file ${lab.digest}` : "");
}

function live(event) {
  for (const line of document.querySelectorAll("line.link")) {
    const [node, iface] = line.dataset.a.split(":");
    const rates = (event.nodes[node] || {})[iface];
    if (!rates) continue;
    const pps = rates.rx_packets_per_second + rates.tx_packets_per_second;
    const bps = 8 * (rates.rx_bytes_per_second + rates.tx_bytes_per_second);
    line.dataset.pps = pps.toFixed(1);
    line.dataset.bps = bps.toFixed(0);
    line.setAttribute("stroke-width", (1 + Math.log10(1 + pps)).toFixed(2));
    line.style.stroke = pps === 0 ? "#999" : bps > 1e8 ? "#d33" : bps > 1e6 ? "#e80" : "#2a2";
    line.querySelector("title").textContent = `${line.dataset.a} - ${line.dataset.b}: ${pps.toFixed(1)} packets/s, ${formatBits(bps)}`;
  }
}
function formatBits(bps) { return bps >= 1e9 ? (bps / 1e9).toFixed(2) + " Gbit/s" : bps >= 1e6 ? (bps / 1e6).toFixed(2) + " Mbit/s" : bps >= 1e3 ? (bps / 1e3).toFixed(1) + " kbit/s" : bps.toFixed(0) + " bit/s"; }

// One line per packet, in the spirit of `netlab decode`.
function summary(packet) {
  const parts = [];
  for (const layer of packet.layers) {
    switch (layer.layer) {
      case "ethernet": parts.push(`${layer.src} > ${layer.dst}`); break;
      case "ipv4": case "ipv6": parts.push(`${layer.layer.toUpperCase()} ${layer.src} > ${layer.dst}`); break;
      case "arp": parts.push(layer.operation === 1 ? `ARP who-has ${layer.target_ip} tell ${layer.sender_ip}` : `ARP ${layer.sender_ip} is-at ${layer.sender_mac}`); break;
      case "icmp": case "icmpv6": parts.push(`${layer.layer.toUpperCase()} type ${layer.type} code ${layer.code}`); break;
      case "tcp": parts.push(`TCP ${layer.src_port} > ${layer.dst_port} [${(layer.flags || []).join(",")}]`); break;
      case "udp": parts.push(`UDP ${layer.src_port} > ${layer.dst_port}`); break;
      case "vxlan": parts.push(`VXLAN vni ${layer.vni} |`); break;
      case "payload": parts.push(`payload ${layer.length}`); break;
      default: parts.push(layer.layer);
    }
  }
  return `${packet.frame} ${parts.join(", ")}` + (packet.error ? ` [${packet.error}]` : "");
}

function openCapture(node, iface) {
  closeCapture();
  shown = []; raw = [];
  document.getElementById("panel").classList.add("open");
  document.getElementById("capture-title").textContent = `${node}:${iface}`;
  document.getElementById("packets").textContent = "";
  document.getElementById("capture-error").textContent = "";
  const filter = document.getElementById("filter").value;
  const url = `/api/labs/${encodeURIComponent(current)}/capture?node=${encodeURIComponent(node)}&iface=${encodeURIComponent(iface)}&filter=${encodeURIComponent(filter)}`;
  // EventSource hides an error's body: ask once with fetch first, so a bad filter says why.
  fetch(withToken(url)).then(async (response) => {
    if (!response.ok) {
      const body = await response.json().catch(() => ({ error: response.statusText }));
      document.getElementById("capture-error").textContent = body.error;
      return;
    }
    response.body.cancel();
    capture = new EventSource(withToken(url));
    capture.onmessage = (event) => {
      if (paused) return;
      const packet = JSON.parse(event.data);
      shown.push(packet);
      const out = document.getElementById("packets");
      out.textContent += (document.getElementById("json").checked ? event.data : summary(packet)) + "\n";
      out.scrollTop = out.scrollHeight;
    };
    capture.addEventListener("raw", (event) => {
      if (paused) return;
      const [linkType, base64] = event.data.split(" ");
      raw.linkType = Number(linkType);
      raw.push([Date.now(), base64]);
    });
  });
}
function closeCapture() { if (capture) { capture.close(); capture = null; } }

// The packets shown, as a pcap file (the stream's raw events carry each frame's bytes).
function downloadPcap() {
  const frames = raw.map(([time, base64]) => [time, Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))]);
  const size = 24 + frames.reduce((sum, [, bytes]) => sum + 16 + bytes.length, 0);
  const view = new DataView(new ArrayBuffer(size));
  view.setUint32(0, 0xa1b2c3d4, true); view.setUint16(4, 2, true); view.setUint16(6, 4, true);
  view.setUint32(16, 262144, true); view.setUint32(20, raw.linkType || 1, true);
  let offset = 24;
  for (const [time, bytes] of frames) {
    view.setUint32(offset, Math.floor(time / 1000), true); view.setUint32(offset + 4, (time % 1000) * 1000, true);
    view.setUint32(offset + 8, bytes.length, true); view.setUint32(offset + 12, bytes.length, true);
    new Uint8Array(view.buffer, offset + 16, bytes.length).set(bytes);
    offset += 16 + bytes.length;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([view.buffer], { type: "application/vnd.tcpdump.pcap" }));
  link.download = "netlab-capture.pcap";
  link.click();
}

document.getElementById("apply").onclick = () => { const t = document.getElementById("capture-title").textContent.split(":"); if (t.length === 2) openCapture(t[0], t[1]); };
document.getElementById("pause").onclick = (e) => { paused = !paused; e.target.textContent = paused ? "resume" : "pause"; };
document.getElementById("close").onclick = () => { closeCapture(); document.getElementById("panel").classList.remove("open"); };
document.getElementById("download").onclick = downloadPcap;
refreshLabs();
setInterval(refreshLabs, 2000);
</script>
</body>
</html>
"""#
}
