// A report's "Print" link opens the browser's print dialog. Without this script the
// link still works: it downloads the PDF, which prints the same.
for (const link of document.querySelectorAll("a[data-qa-print]")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    window.print();
  });
}
