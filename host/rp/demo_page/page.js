"use strict";
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
