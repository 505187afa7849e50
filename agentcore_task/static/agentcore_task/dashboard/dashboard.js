// The dashboard's one script: local times, copy buttons, confirmations and live rows.
//
// The pages are complete without it. It reads everything it needs from data attributes the
// server rendered (where the API is mounted, the query that selects the page's rows, the
// stream URL when the API has one), so it hard-codes no URL. Live data comes from the API's
// server-sent event streams when the page names one, else from polling the API's list or
// detail endpoint every couple of seconds: the same rows, scoped the same way, as the page.

const root = document.querySelector("[data-dashboard]");
const COMPLETED = new Set(["SUCCESS", "FAILURE", "REVOKED"]);
const RUNNING = new Set(["STARTED", "RETRY"]);

const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
  timeZoneName: "short",
});

/** Return how long ago `date` was, in the reader's words ("5 minutes ago"). */
function ageText(date) {
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.trunc(seconds / size), unit);
  }
  return Math.abs(seconds) < 5 ? "just now" : relative.format(seconds, "second");
}

/** Show every <time> in the reader's time zone, to the second, and refresh the ages. */
function localizeTimes(scope) {
  for (const element of scope.querySelectorAll("time[data-time]")) {
    const date = new Date(element.getAttribute("datetime"));
    if (!Number.isNaN(date.getTime())) element.textContent = timeFormat.format(date);
  }
  for (const element of scope.querySelectorAll("[data-age]")) {
    const date = new Date(element.dataset.age);
    if (!Number.isNaN(date.getTime())) element.textContent = ageText(date);
  }
}

function durationText(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Return the progress of an API item as 0-100, or null when none was reported. */
function percentOf(item) {
  if (item.status === "SUCCESS") return 100;
  const value = item.progress_percent ?? item.metadata?.progress_percent;
  if (typeof value !== "number" || !Number.isFinite(value)) return null;
  return Math.max(0, Math.min(100, Math.floor(value)));
}

function messageOf(item) {
  const value = item.progress_message ?? item.metadata?.progress_message;
  return typeof value === "string" ? value : "";
}

function setText(scope, field, text) {
  for (const element of scope.querySelectorAll(`[data-field="${field}"]`)) {
    if (element.textContent !== text) element.textContent = text;
  }
}

function setTime(scope, field, iso) {
  for (const cell of scope.querySelectorAll(`[data-field="${field}"]`)) {
    const shown = cell.querySelector("time")?.getAttribute("datetime");
    if (iso && shown && new Date(shown).getTime() === new Date(iso).getTime()) continue;
    if (!iso && !shown) continue;
    cell.replaceChildren();
    if (!iso) {
      cell.textContent = "—";
      continue;
    }
    const time = document.createElement("time");
    time.setAttribute("datetime", iso);
    time.dataset.time = "";
    const age = document.createElement("span");
    age.className = "age";
    age.dataset.age = iso;
    cell.append(time, " ", age);
    localizeTimes(cell);
  }
}

function setStatus(scope, status) {
  for (const badge of scope.querySelectorAll('[data-field="status"]')) {
    badge.textContent = status;
    badge.className = `status status-${status.toLowerCase()}`;
  }
}

function setProgress(scope, percent) {
  for (const bar of scope.querySelectorAll('[data-field="progress"]')) {
    if (percent === null) bar.removeAttribute("aria-valuenow");
    else bar.setAttribute("aria-valuenow", String(percent));
    bar.querySelector(".progress-fill")?.setAttribute("width", String(percent ?? 0));
    const text = bar.querySelector(".progress-text");
    if (text) text.textContent = percent === null ? "—" : `${percent}%`;
  }
}

/** Write an API item (list item or detail) into the elements of one row or page. */
function apply(scope, item) {
  setStatus(scope, item.status);
  setProgress(scope, percentOf(item));
  setText(scope, "progress_message", messageOf(item));
  setText(scope, "duration", durationText(item.duration));
  // A stream's event is a list item, which has no updated_at: a field the item does not
  // carry keeps what the page shows rather than becoming "—".
  for (const field of ["started_at", "finished_at", "updated_at"]) {
    if (field in item && scope.querySelector(`[data-field="${field}"]`)) {
      setTime(scope, field, item[field]);
    }
  }
}

/** Return a new table row for an API item, from the page's empty row <template>. */
function newRow(item, template) {
  const row = template.content.firstElementChild.cloneNode(true);
  row.dataset.executionId = String(item.id);
  const link = row.querySelector('[data-field="link"]');
  link.href = `${root.dataset.detailBase}${item.id}/`;
  setText(row, "id", String(item.id));
  setText(row, "task_name", item.task_name);
  setText(row, "module", item.module);
  setText(row, "created_by_username", item.created_by_username ?? "—");
  row.querySelector('[data-field="progress"]')
    ?.setAttribute("aria-label", `Progress of execution ${item.id}`);
  const select = row.querySelector('[data-field="select"]');
  if (select) {
    select.value = String(item.id);
    select.setAttribute("aria-label", `Select execution ${item.id}`);
  }
  setTime(row, "created_at", item.created_at);
  apply(row, item);
  return row;
}

function announce(text) {
  const region = document.getElementById("live-announcer");
  if (region) region.textContent = text;
}

/** Keep a table's rows in step with API items: update, and add or replace rows as it says. */
function tableUpdater(table) {
  const body = table.querySelector("tbody[data-rows]");
  const template = table.parentElement.querySelector("#execution-row-template");
  const empty = table.parentElement.querySelector("[data-empty]");
  const mode = table.dataset.liveTable; // prepend: first page; update: older pages; replace
  return (items, complete) => {
    const seen = new Set();
    let added = 0;
    for (const item of items) {
      seen.add(String(item.id));
      const row = body.querySelector(`tr[data-execution-id="${item.id}"]`);
      if (row) {
        apply(row, item);
      } else if (mode !== "update" && template) {
        const fresh = newRow(item, template);
        const newer = [...body.rows].find((other) => Number(other.dataset.executionId) < item.id);
        body.insertBefore(fresh, newer ?? null);
        added += 1;
      }
    }
    if (mode === "replace" && complete) {
      for (const row of [...body.rows]) if (!seen.has(row.dataset.executionId)) row.remove();
    }
    if (empty) empty.hidden = body.rows.length > 0;
    if (added) announce(`${added} new execution${added === 1 ? "" : "s"}`);
  };
}

/**
 * Feed `onItems` from the API: the event stream when the page names one, else polling.
 * A stream that closes (the server refused it, or went away for good) falls back to polling.
 */
function follow({ stream, poll, interval, onItems }) {
  let timer = null;
  const tick = async () => {
    timer = null;
    if (!document.hidden) {
      try {
        const response = await fetch(poll, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (response.ok) {
          const body = await response.json();
          if (Array.isArray(body.results)) onItems(body.results, true);
          else onItems([body], true);
        }
      } catch {
        // A network blip: the next tick tries again.
      }
    }
    timer = setTimeout(tick, interval);
  };
  const startPolling = () => {
    if (timer === null) tick();
  };
  if (stream && "EventSource" in window) {
    const source = new EventSource(stream, { withCredentials: true });
    source.addEventListener("execution", (event) => onItems([JSON.parse(event.data)], false));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) startPolling();
    });
    return;
  }
  startPolling();
}

function startLive() {
  const { api, liveQuery, stream, page } = root.dataset;
  if (!api) return;
  const interval = Number(root.dataset.pollInterval) || 2000;
  if (page === "execution") {
    const article = root.querySelector("[data-execution-id]");
    const id = article.dataset.executionId;
    let finished = COMPLETED.has(article.querySelector('[data-field="status"]').textContent.trim());
    follow({
      stream,
      poll: `${api}${id}/`,
      interval,
      onItems: (items) => {
        const item = items.find((candidate) => String(candidate.id) === id);
        if (!item) return;
        apply(article, item);
        if (!finished && COMPLETED.has(item.status)) {
          finished = true;
          const notice = root.querySelector("[data-finished-notice]");
          if (notice) notice.hidden = false;
          announce(`Execution ${id} finished: ${item.status}`);
        }
      },
    });
    return;
  }
  const table = root.querySelector("table[data-live-table]");
  if (!table) return;
  const update = tableUpdater(table);
  const running = table.dataset.liveTable === "replace";
  follow({
    stream: stream ? `${stream}?${root.dataset.streamQuery ?? liveQuery}` : null,
    poll: `${api}?${liveQuery}`,
    interval,
    onItems: (items, complete) => {
      // A stream sends every change; the running list keeps only what still runs.
      const kept = running ? items.filter((item) => RUNNING.has(item.status)) : items;
      if (running && !complete) {
        for (const item of items) {
          if (!RUNNING.has(item.status)) {
            table.querySelector(`tr[data-execution-id="${item.id}"]`)?.remove();
          }
        }
      }
      update(kept, complete);
    },
  });
}

/** Reveal the copy buttons (useless without a script) and copy their target's text. */
function enableCopyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copy);
      if (!target) return;
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(target.textContent);
        button.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(target);
        window.getSelection()?.removeAllRanges();
        window.getSelection()?.addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
}

/** Ask before an operator's action is posted (the server checks the permission anyway). */
function enableConfirmations() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

/** Reveal the "select every row on this page" box of the bulk form (it needs the script). */
function enableSelectAll() {
  for (const box of document.querySelectorAll("input[data-select-all]")) {
    box.hidden = false;
    box.addEventListener("change", () => {
      const table = box.closest("table");
      for (const row of table.querySelectorAll('tbody input[name="ids"]')) row.checked = box.checked;
    });
  }
}

if (root) {
  localizeTimes(document);
  enableSelectAll();
  setInterval(() => localizeTimes(document), 15000);
  enableCopyButtons();
  enableConfirmations();
  startLive();
}
