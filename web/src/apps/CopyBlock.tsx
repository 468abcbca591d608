import { useEffect, useRef, useState } from 'react';

/** Selects every character of the element, so the user can copy it by hand. */
function selectContents(element: HTMLElement): void {
  const selection = window.getSelection();
  if (selection === null) return;
  const range = document.createRange();
  range.selectNodeContents(element);
  selection.removeAllRanges();
  selection.addRange(range);
}

interface CopyBlockProps {
  /** The exact text shown and copied. */
  text: string;
  /** What is copied, for the button's accessible name ("Copy <label>"). */
  label: string;
  /** Shown as one line (a URL) rather than a preformatted block. */
  inline?: boolean;
}

/**
 * Text to paste elsewhere, with a Copy button. The clipboard API needs a secure context and the
 * browser's consent; where it fails the text is selected instead, for Ctrl+C. Either outcome is
 * announced in a live region.
 */
export function CopyBlock({ text, label, inline = false }: CopyBlockProps) {
  const textRef = useRef<HTMLElement>(null);
  const [announcement, setAnnouncement] = useState<{ text: string; copied: boolean } | null>(null);

  // New text (another endpoint or client): an old "Copied" would be about other text.
  useEffect(() => setAnnouncement(null), [text]);

  const copy = async () => {
    setAnnouncement(null);
    try {
      if (navigator.clipboard === undefined) throw new Error('no clipboard API');
      await navigator.clipboard.writeText(text);
      setAnnouncement({ text: 'Copied', copied: true });
    } catch {
      if (textRef.current !== null) selectContents(textRef.current);
      setAnnouncement({
        text: 'Could not copy by itself: the text is selected, press Ctrl+C (⌘C on a Mac) to copy it.',
        copied: false,
      });
    }
  };

  return (
    <div className={inline ? 'copy-block copy-inline' : 'copy-block'}>
      {inline ? (
        <code ref={textRef} className="copy-text" data-testid="copy-text">
          {text}
        </code>
      ) : (
        <pre className="copy-text" data-testid="copy-text">
          <code ref={textRef}>{text}</code>
        </pre>
      )}
      <div className="copy-actions">
        <button type="button" className="secondary" onClick={() => void copy()} aria-label={`Copy ${label}`}>
          Copy
        </button>
        <span
          role="status"
          className={announcement?.copied === true ? 'copy-status copy-status-ok' : 'copy-status'}
        >
          {announcement?.text}
        </span>
      </div>
    </div>
  );
}
