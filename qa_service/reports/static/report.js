// A report's "Print" link opens the browser's print dialog. Without this script the
// link still works: it downloads the PDF, which prints the same.
for (const link of document.querySelectorAll("a[data-qa-print]")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    window.print();
  });
}

// On a narrow screen a wide table scrolls sideways inside itself: let the keyboard reach
// it (a focusable region, named by its caption) so that it can be scrolled without a mouse.
function focusableWhenScrolling() {
  for (const table of document.querySelectorAll("main table")) {
    if (table.scrollWidth > table.clientWidth) {
      table.setAttribute("tabindex", "0");
    } else {
      table.removeAttribute("tabindex");
    }
  }
}
focusableWhenScrolling();
window.addEventListener("resize", focusableWhenScrolling);
