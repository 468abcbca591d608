import type { ContentBlock } from './explorer-api.ts';

/** A MIME type safe to put in a `data:` URL of the given kind (`image`, `audio`). */
function mediaType(value: unknown, kind: 'image' | 'audio'): string | null {
  if (typeof value !== 'string') return null;
  return new RegExp(`^${kind}/[a-z0-9.+-]+$`, 'i').test(value) ? value : null;
}

/** Base64 text without whitespace, or null when it is not base64. */
function base64(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const compact = value.replace(/\s+/g, '');
  return /^[A-Za-z0-9+/]*={0,2}$/.test(compact) ? compact : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** About how many bytes base64 text holds. */
function decodedSize(data: string): number {
  return Math.floor((data.length * 3) / 4) - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function Unreadable({ what }: { what: string }) {
  return <p className="muted">The tool returned {what} the page cannot show.</p>;
}

function ImageBlock({ block, toolName }: { block: ContentBlock; toolName: string }) {
  const type = mediaType(block.mimeType, 'image');
  const data = base64(block.data);
  if (type === null || data === null) return <Unreadable what="an image" />;
  return (
    <img className="result-image" src={`data:${type};base64,${data}`} alt={`Image returned by ${toolName}`} />
  );
}

function AudioBlock({ block, toolName }: { block: ContentBlock; toolName: string }) {
  const type = mediaType(block.mimeType, 'audio');
  const data = base64(block.data);
  if (type === null || data === null) return <Unreadable what="audio" />;
  return <audio controls src={`data:${type};base64,${data}`} aria-label={`Audio returned by ${toolName}`} />;
}

/** A link to a resource: what the tool said about it. The page does not fetch it. */
function ResourceLinkBlock({ block }: { block: ContentBlock }) {
  const size = typeof block.size === 'number' ? formatBytes(block.size) : null;
  return (
    <div className="resource">
      <p className="resource-kind">Link to a resource</p>
      <dl>
        {text(block.title) !== null && <Entry term="Title" value={text(block.title)} />}
        {text(block.name) !== null && <Entry term="Name" value={text(block.name)} />}
        <Entry term="URI" value={text(block.uri) ?? '(none)'} code />
        {text(block.description) !== null && <Entry term="Description" value={text(block.description)} />}
        {text(block.mimeType) !== null && <Entry term="Type" value={text(block.mimeType)} />}
        {size !== null && <Entry term="Size" value={size} />}
      </dl>
    </div>
  );
}

/** A resource embedded in the result: its text, or a summary of its binary content. */
function EmbeddedResourceBlock({ block }: { block: ContentBlock }) {
  const resource = typeof block.resource === 'object' && block.resource !== null ? block.resource : {};
  const fields = resource as Record<string, unknown>;
  const body = typeof fields.text === 'string' ? fields.text : null;
  const blob = base64(fields.blob);
  return (
    <div className="resource">
      <p className="resource-kind">Embedded resource</p>
      <dl>
        <Entry term="URI" value={text(fields.uri) ?? '(none)'} code />
        {text(fields.mimeType) !== null && <Entry term="Type" value={text(fields.mimeType)} />}
        {body === null && blob !== null && (
          <Entry term="Content" value={`Binary, ${formatBytes(decodedSize(blob))} (not shown)`} />
        )}
      </dl>
      {body !== null && <pre className="result-text">{body}</pre>}
    </div>
  );
}

function Entry({ term, value, code = false }: { term: string; value: string | null; code?: boolean }) {
  return (
    <div className="entry">
      <dt>{term}</dt>
      <dd>{code ? <code>{value}</code> : value}</dd>
    </div>
  );
}

/** One content block of a tool result, shown as its type calls for. */
export function ContentBlockView({ block, toolName }: { block: ContentBlock; toolName: string }) {
  switch (block.type) {
    case 'text':
      return <pre className="result-text">{typeof block.text === 'string' ? block.text : ''}</pre>;
    case 'image':
      return <ImageBlock block={block} toolName={toolName} />;
    case 'audio':
      return <AudioBlock block={block} toolName={toolName} />;
    case 'resource_link':
      return <ResourceLinkBlock block={block} />;
    case 'resource':
      return <EmbeddedResourceBlock block={block} />;
    default:
      return (
        <div className="resource">
          <p className="resource-kind">
            A <code>{block.type}</code> block
          </p>
          <pre className="result-text">{JSON.stringify(block, null, 2)}</pre>
        </div>
      );
  }
}
