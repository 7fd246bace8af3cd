// Copy buttons: <button class="copy" data-copy="#element-id">, whose element holds the text (a
// list shows a shortened endpoint and keeps the whole one in a hidden element). Uses the
// Clipboard API where the page is a secure context, and falls back to selecting the text and
// execCommand elsewhere.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = "value" in source && source.value !== undefined ? source.value : source.textContent;
  let copied = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text.trim());
      copied = true;
    }
  } catch (error) {
    copied = false;
  }
  if (!copied) {
    const range = document.createRange();
    if (source.select) {
      source.select();
    } else {
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    }
    copied = document.execCommand && document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
  setTimeout(() => { button.textContent = label; }, 2000);
});
