/* The cashier's screen (admin "Record an interim payment"): find the driver as you type, the lease
   chosen when there is one, and a live allocated / remaining total with "pay in full" per row and
   "allocate by priority". Amounts are handled in whole cents (integers): no float rounding. */
(function () {
  "use strict";

  function toCents(text) {
    var match = /^\s*(\d{1,12})(?:\.(\d{0,2}))?\s*$/.exec(text || "");
    if (!match) return null;
    return parseInt(match[1], 10) * 100 + parseInt(((match[2] || "") + "00").slice(0, 2), 10);
  }
  function money(cents) {
    var sign = cents < 0 ? "-" : "";
    cents = Math.abs(cents);
    return sign + Math.floor(cents / 100) + "." + String(cents % 100).padStart(2, "0");
  }

  function setUpSearch() {
    var form = document.getElementById("choose-form");
    if (!form) return;
    var box = document.getElementById("driver-search");
    var hidden = form.querySelector("input[name=driver]");
    var leaseSelect = form.querySelector("select[name=lease]");
    var results = document.getElementById("driver-results");
    var timer = null;

    function choose(driver) {
      hidden.value = driver.id;
      box.value = driver.name + " (" + driver.tlc_license_number + ")";
      results.innerHTML = "";
      leaseSelect.innerHTML = "";
      if (driver.leases.length !== 1) {
        leaseSelect.appendChild(new Option("— choose a lease —", ""));
      }
      driver.leases.forEach(function (lease) {
        leaseSelect.appendChild(new Option(lease.lease_number + " · " + lease.status, lease.id));
      });
      if (driver.leases.length === 1) {
        leaseSelect.value = String(driver.leases[0].id);
        form.submit();
      } else {
        leaseSelect.focus();
      }
    }

    function search() {
      var text = box.value.trim();
      if (text.length < 2) { results.innerHTML = ""; return; }
      fetch(form.dataset.searchUrl + "?q=" + encodeURIComponent(text), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          results.innerHTML = "";
          if (!data.drivers.length) {
            var none = document.createElement("li");
            none.textContent = "No driver matches “" + text + "”.";
            results.appendChild(none);
          }
          data.drivers.forEach(function (driver) {
            var item = document.createElement("li");
            var button = document.createElement("button");
            button.type = "button";
            button.className = "driver-choice";
            button.textContent = driver.name + " · TLC " + driver.tlc_license_number + " · " +
              driver.leases.map(function (l) { return l.lease_number; }).join(", ");
            button.addEventListener("click", function () { choose(driver); });
            item.appendChild(button);
            results.appendChild(item);
          });
        });
    }

    box.addEventListener("input", function () {
      hidden.value = "";
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !hidden.value) {
        event.preventDefault();
        clearTimeout(timer);
        search();
      }
    });
  }

  function setUpAllocation() {
    var form = document.getElementById("payment-form");
    if (!form) return;
    var amountInput = form.querySelector("input[name=amount]");
    var rows = Array.prototype.slice.call(form.querySelectorAll("tr.balance-row[data-outstanding]"));

    function inputOf(row) { return row.querySelector("input[name^=alloc_]"); }

    function refresh() {
      var amount = toCents(amountInput.value) || 0;
      var allocated = 0;
      rows.forEach(function (row) { allocated += toCents(inputOf(row).value) || 0; });
      var remaining = amount - allocated;
      document.getElementById("sum-allocated").textContent = money(allocated);
      document.getElementById("sum-remaining").textContent = money(remaining);
      var rest = document.getElementById("sum-rest");
      if (remaining > 0) {
        rest.textContent = money(remaining) + " goes to the lease's open LEASE balances, then waits as credit.";
      } else if (remaining < 0) {
        rest.textContent = "The rows add up to more than the payment: lower them or raise the amount.";
      } else {
        rest.textContent = "";
      }
      rest.className = remaining < 0 ? "errornote" : "";
    }

    rows.forEach(function (row) {
      var button = row.querySelector("button.pay-in-full");
      if (button) {
        button.addEventListener("click", function () {
          inputOf(row).value = row.dataset.outstanding;
          var amount = toCents(amountInput.value) || 0;
          var allocated = 0;
          rows.forEach(function (r) { allocated += toCents(inputOf(r).value) || 0; });
          if (allocated > amount) amountInput.value = money(allocated);  // the amount covers what is paid
          refresh();
        });
      }
      inputOf(row).addEventListener("input", refresh);
    });

    var byPriority = document.getElementById("allocate-by-priority");
    if (byPriority) {
      byPriority.addEventListener("click", function () {
        var left = toCents(amountInput.value) || 0;
        rows.forEach(function (row) {  // rows come in the order earnings pay them
          var pay = Math.min(left, toCents(row.dataset.outstanding) || 0);
          inputOf(row).value = pay > 0 ? money(pay) : "";
          left -= pay;
        });
        refresh();
      });
    }
    var clear = document.getElementById("clear-allocations");
    if (clear) {
      clear.addEventListener("click", function () {
        rows.forEach(function (row) { inputOf(row).value = ""; });
        refresh();
      });
    }
    amountInput.addEventListener("input", refresh);
    amountInput.focus();
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpSearch();
    setUpAllocation();
  });
})();
