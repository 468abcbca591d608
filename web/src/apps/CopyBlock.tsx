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
  const [announcement, setAnnouncement] = useState('');

  // New text (another endpoint or client): an old "Copied" would be about other text.
  useEffect(() => setAnnouncement(''), [text]);

  const copy = async () => {
    setAnnouncement('');
    try {
      if (navigator.clipboard === undefined) throw new Error('no clipboard API');
      await navigator.clipboard.writeText(text);
      setAnnouncement('Copied');
    } catch {
      if (textRef.current !== null) selectContents(textRef.current);
      setAnnouncement(
        'Could not copy by itself: the text is selected, press Ctrl+C (⌘C on a Mac) to copy it.',
      );
    }
  };

  return (
    <div className={inline ? 'copy-block copy-inline' : 'copy-block'}>
      {inline ? (
        <code ref={textRef} className="copy-text" data-testid="copy-text">
          {text}
        </code>
      ) : (
        // Focusable: a long line scrolls sideways, and a keyboard must be able to scroll it too.
        <pre className="copy-text" tabIndex={0} data-testid="copy-text">
          <code ref={textRef}>{text}</code>
        </pre>
      )}
      <div className="copy-actions">
        <button type="button" className="secondary" onClick={() => void copy()} aria-label={`Copy ${label}`}>
          Copy
        </button>
        <span role="status" className="copy-status">
          {announcement}
        </span>
      </div>
    </div>
  );
}
