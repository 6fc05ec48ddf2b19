import { useState } from 'react';

/** Text to paste elsewhere, shown whole, with a copy button. */
export function CopyBox({ text, label, testId }: { text: string; label: string; testId?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard needs a secure context; fall back to selecting the text for Ctrl+C.
      const sel = window.getSelection();
      const pre = document.querySelector(`[data-copy="${CSS.escape(label)}"]`);
      if (sel && pre) sel.selectAllChildren(pre);
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <div className="copy-box">
      <div className="copy-head">
        <span>{label}</span>
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <pre data-copy={label} data-testid={testId}>
        {text}
      </pre>
    </div>
  );
}
