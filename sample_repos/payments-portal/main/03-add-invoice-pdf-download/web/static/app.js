// Invoice search and detail view for the payments portal.
"use strict";

async function getJSON(path) {
  const res = await fetch(path, { credentials: "same-origin" });
  if (res.status === 401) {
    window.location = "/static/login.html?next=" + encodeURIComponent(window.location.pathname);
    return null;
  }
  if (!res.ok) {
    throw new Error(`${path}: HTTP ${res.status}`);
  }
  return res.json();
}

function formatAmount(invoice) {
  return new Intl.NumberFormat("en-IE", { style: "currency", currency: invoice.currency })
    .format(invoice.amount);
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderInvoices(invoices) {
  const tbody = document.querySelector("#invoices tbody");
  tbody.replaceChildren();
  for (const invoice of invoices) {
    const row = document.createElement("tr");
    row.append(
      cell(invoice.id),
      cell(invoice.customer),
      cell(formatAmount(invoice), "amount"),
      cell(invoice.status, `status status-${invoice.status}`),
    );
    row.addEventListener("click", () => showInvoice(invoice.id));
    tbody.append(row);
  }
}

async function showInvoice(id) {
  const invoice = await getJSON(`/invoices/${encodeURIComponent(id)}`);
  if (!invoice) return;
  const panel = document.getElementById("invoice-detail");
  panel.querySelector(".customer").textContent = invoice.customer;
  panel.querySelector(".amount").textContent = formatAmount(invoice);
  // Notes are free text (typed by finance, or synced from the payer's message); keep line breaks.
  panel.querySelector(".notes").innerHTML = invoice.notes.replace(/\n/g, "<br>");
  panel.querySelector("a.pdf").href = `/invoices/${encodeURIComponent(id)}/pdf`;
  panel.hidden = false;
}

async function search(event) {
  if (event) event.preventDefault();
  const form = document.getElementById("search");
  const params = new URLSearchParams(new FormData(form));
  const invoices = await getJSON(`/invoices/search?${params}`);
  if (invoices) renderInvoices(invoices);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("search").addEventListener("submit", search);
  search();
});
