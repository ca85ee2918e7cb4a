#include "host/rp/service/demo_page.h"

namespace idvault::rp {
namespace {

std::string escaped_html(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr std::string_view kAsksForMark = "@ASKS_FOR@";

}  // namespace

std::string demo_page_html(std::string_view asks_for) {
  static const std::string kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>idvault-rp demo service</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #1b1f24; }
  h1 { font-size: 1.5rem; }
  button { font-size: 1.1rem; padding: .6rem 1.2rem; border-radius: .4rem; border: 0; background: #2a6df4; color: #fff; cursor: pointer; }
  #request { display: none; gap: 1.5rem; align-items: flex-start; margin-top: 1.5rem; }
  #qr svg { width: 14rem; height: 14rem; border: 1px solid #ccd; }
  #link { word-break: break-all; font-family: monospace; font-size: .75rem; display: block; max-width: 40rem; }
  #status { font-weight: 600; margin-top: 1rem; }
  .element { border: 1px solid #ccd; border-radius: .4rem; padding: .8rem 1rem; margin: .8rem 0; }
  .element h3 { margin: 0 0 .4rem; }
  table { border-collapse: collapse; }
  td { padding: .1rem .8rem .1rem 0; vertical-align: top; }
  td:first-child { color: #57606a; }
  .thumb { max-width: 9rem; max-height: 7rem; border: 1px solid #ccd; margin: .3rem .5rem 0 0; }
  .ok { color: #1a7f37; } .bad { color: #cf222e; }
</style>
</head>
<body>
<h1>Demo service</h1>
<p>This service asks for: <span id="asks-for">@ASKS_FOR@</span>.</p>
<button id="share" type="button">Share with idvault</button>
<div id="request">
  <div id="qr"></div>
  <div>
    <p>Open this link in your idvault wallet, or scan the code:</p>
    <a id="link" href="#"></a>
    <p id="status"></p>
  </div>
</div>
<div id="result"></div>
<script src="/demo.js"></script>
</body>
</html>
)HTML";
  std::string page = kPage;
  page.replace(page.find(kAsksForMark), kAsksForMark.size(), escaped_html(asks_for));
  return page;
}

const std::string& demo_page_script() {
  static const std::string kScript = R"JS("use strict";
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function row(table, key, value) {
  const tr = el("tr");
  tr.append(el("td", key), el("td", value));
  table.append(tr);
}
function show(nonce, body) {
  const report = body.report;
  const out = $("result");
  out.replaceChildren();
  const receipt = report.receipt;
  out.append(el("h2", "Verified share"));
  out.append(el("p", receipt && receipt.valid ? "Receipt signed by holder key " + receipt.holder_key.slice(0, 16) + "…"
                                             : "No holder receipt", receipt && receipt.valid ? "ok" : "bad"));
  for (const element of report.elements) {
    const box = el("div", undefined, "element");
    box.dataset.type = element.type;
    box.append(el("h3", element.type));
    const table = el("table");
    if (element.data) for (const [k, v] of Object.entries(element.data)) if (v !== "") row(table, k, v);
    if (element.phone_number) row(table, "phone_number", element.phone_number);
    if (element.email) row(table, "email", element.email);
    box.append(table);
    const files = [];
    for (const slot of ["front_side", "reverse_side", "selfie"]) if (element[slot]) files.push([slot, element[slot]]);
    for (const slot of ["files", "translation"]) if (element[slot]) element[slot].forEach((f, i) => files.push([slot + " " + (i + 1), f]));
    for (const [slot, f] of files) {
      if (f.missing) { box.append(el("p", slot + ": missing", "bad")); continue; }
      const img = el("img", undefined, "thumb");
      img.alt = slot;
      img.title = slot + " (sha256 " + f.sha256.slice(0, 12) + "…, " + f.size + " bytes)";
      img.src = "/file?nonce=" + encodeURIComponent(nonce) + "&file_id=" + encodeURIComponent(f.file_id);
      box.append(img);
    }
    const attested = report.attestations.filter((a) => a.type === element.type);
    for (const a of attested) {
      box.append(el("p", (a.valid ? "✔ attested (" + a.level + ") by " : "✘ attestation by ") + a.verifier.slice(0, 16) +
                    "…" + (a.valid ? "" : ": " + a.reason), a.valid ? "ok attestation" : "bad attestation"));
    }
    out.append(box);
  }
  if (body.errors) {
    out.append(el("h2", "Sent back to the holder to fix"));
    const list = el("ul");
    for (const e of body.errors.signed.errors) list.append(el("li", e.type + " (" + e.source + "): " + e.message));
    out.append(list);
  }
}
async function poll(nonce) {
  // Same origin: the request's read token goes along as its cookie.
  const answer = await fetch("/result?nonce=" + encodeURIComponent(nonce), {credentials: "same-origin"});
  const body = await answer.json();
  if (!answer.ok) {
    $("status").textContent = "Could not read the result: " + (body.error || answer.status);
    return;
  }
  if (body.status === "received") {
    $("status").textContent = "Received and verified.";
    show(nonce, body);
    return;
  }
  setTimeout(() => poll(nonce), 700);
}
$("share").addEventListener("click", async () => {
  $("share").disabled = true;
  const answer = await fetch("/request");
  const request = await answer.json();
  $("qr").innerHTML = request.qr_svg;  // made by our server from our own link
  $("link").textContent = request.link;
  $("link").href = request.link;
  $("request").style.display = "flex";
  $("status").textContent = "Waiting for the holder…";
  document.body.dataset.nonce = request.nonce;
  poll(request.nonce);
});
)JS";
  return kScript;
}

}  // namespace idvault::rp
