import type { ToolAnnotations as Annotations, ToolIcon } from './explorer-api.ts';

interface Hint {
  key: keyof Annotations;
  yes: string;
  no: string;
  /** A hint worth a warning colour when it has this value. */
  warnWhen?: boolean;
}

const HINTS: readonly Hint[] = [
  { key: 'readOnlyHint', yes: 'Read-only', no: 'Makes changes' },
  { key: 'destructiveHint', yes: 'May delete or overwrite', no: 'Not destructive', warnWhen: true },
  { key: 'idempotentHint', yes: 'Safe to repeat', no: 'Repeating has effects' },
  { key: 'openWorldHint', yes: 'Reaches outside systems', no: 'Closed world' },
];

/**
 * The behaviour hints a server gave for a tool, in words. Only the hints it gave are shown: they
 * are the server's own claims, which the hub does not check.
 */
export function ToolAnnotations({ annotations }: { annotations: Annotations | undefined }) {
  if (annotations === undefined) return null;
  const shown = HINTS.filter((hint) => typeof annotations[hint.key] === 'boolean');
  // A destructive hint only means something for a tool that makes changes.
  const relevant = shown.filter(
    (hint) => hint.key !== 'destructiveHint' || annotations.readOnlyHint !== true,
  );
  if (relevant.length === 0) return null;
  return (
    <ul className="hints" aria-label="What the server says about this tool">
      {relevant.map((hint) => {
        const value = annotations[hint.key] === true;
        return (
          <li key={hint.key} className={hint.warnWhen === value ? 'hint hint-warn' : 'hint'}>
            {value ? hint.yes : hint.no}
          </li>
        );
      })}
    </ul>
  );
}

/** The first icon a tool gave that the page may show (`data:` images; the CSP loads no others). */
export function ToolIconImage({ icons }: { icons: ToolIcon[] | undefined }) {
  const icon = icons?.find((candidate) => /^data:image\/[\w.+-]+[;,]/i.test(candidate.src));
  if (icon === undefined) return null;
  return <img className="tool-icon" src={icon.src} alt="" width={24} height={24} />;
}
