import { randomBytes } from 'node:crypto';

/** Above this many characters, a text body is encoded to bytes before it is written. */
const LARGE_BODY_CHARS = 64 * 1024;
/** Strings at least this long are written as UTF-8 bytes of their own, not copied by JSON.stringify. */
const LONG_STRING_CHARS = 16 * 1024;
/** How deep {@link jsonBody} looks for long strings (a tool result's text sits at depth 4). */
const MAX_DEPTH = 8;
/**
 * What a long string becomes inside JSON.stringify's output, to be replaced by its bytes. The
 * process's random part keeps an upstream from writing it on purpose; a count that does not match
 * still falls back to plain JSON.stringify.
 */
const PLACEHOLDER = `\u0000switchboard-long-string-${randomBytes(12).toString('hex')}`;
const PLACEHOLDER_JSON = JSON.stringify(PLACEHOLDER);
/** A character that JSON.stringify writes escaped (lone surrogates aside: those strings stay with it). */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
/** The two-character escapes of JSON (RFC 8259 §7); other control characters are `\u00xx`. */
const SHORT_ESCAPES: Readonly<Record<number, number>> = {
  0x08: 0x62, // \b
  0x09: 0x74, // \t
  0x0a: 0x6e, // \n
  0x0c: 0x66, // \f
  0x0d: 0x72, // \r
  0x22: 0x22, // \"
  0x5c: 0x5c, // \\
};
const HEX = Buffer.from('0123456789abcdef');

/**
 * `value` as a JSON body to write, byte for byte what `JSON.stringify(value)` gives, between an
 * optional `prefix` and `suffix` (an SSE event's framing). A small body is a string: one write with
 * the headers. A large one is bytes, and a long string in it (a tool result's 1 MB text) is encoded
 * straight into those bytes: JSON.stringify would copy it into pieces in the heap, and the encoder
 * would then flatten the pieces into one more copy before any byte left.
 */
export function jsonBody(value: unknown, prefix = '', suffix = ''): string | Buffer {
  if (hasLongString(value, 0)) {
    const bytes = withLongStrings(value, prefix, suffix);
    if (bytes !== undefined) return bytes;
  }
  return bodyForWrite(`${prefix}${JSON.stringify(value)}${suffix}`);
}

/** The bytes a body from {@link jsonBody} or {@link bodyForWrite} takes on the wire. */
export function bodyLength(body: string | Buffer): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.length;
}

/**
 * The body to hand to Node's `res.end`: a large text as bytes. Node writes a string body together
 * with the headers as one string (headers + body), and that join is flattened into one more copy of
 * the whole body in the heap before the socket's own encode; bytes are written after the headers as
 * they are. A small body stays a string: one write of headers and body, no extra buffer.
 */
export function bodyForWrite(text: string): string | Buffer {
  return text.length > LARGE_BODY_CHARS ? Buffer.from(text) : text;
}

function hasLongString(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.length >= LONG_STRING_CHARS;
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (hasLongString(item, depth + 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) if (hasLongString(record[key], depth + 1)) return true;
  return false;
}

/** One long string of a body: its text, and its length once escaped (when nothing needs escaping, its raw bytes). */
interface LongString {
  text: string;
  escaped: Buffer | undefined;
  length: number;
}

/**
 * JSON.stringify with every long, well-formed string left out (a placeholder in its place), then
 * the output's pieces and those strings' escaped bytes written into one buffer. Undefined when the
 * placeholders found are not the strings left out (an upstream's text held one): the caller then
 * stringifies as usual.
 */
function withLongStrings(value: unknown, prefix: string, suffix: string): Buffer | undefined {
  const longs: string[] = [];
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== 'string' || item.length < LONG_STRING_CHARS || !isWellFormed(item)) return item;
    longs.push(item);
    return PLACEHOLDER;
  });
  const pieces = text.split(PLACEHOLDER_JSON);
  if (pieces.length !== longs.length + 1) return undefined;
  const strings = longs.map(measure);
  let total = Buffer.byteLength(prefix) + Buffer.byteLength(suffix);
  for (const piece of pieces) total += Buffer.byteLength(piece);
  for (const long of strings) total += long.length + 2;
  const out = Buffer.allocUnsafe(total);
  let at = out.write(prefix, 0);
  for (const [index, long] of strings.entries()) {
    at += out.write(pieces[index] as string, at);
    out[at++] = 0x22;
    at = long.escaped === undefined ? at + out.write(long.text, at) : escapeInto(long.escaped, out, at);
    out[at++] = 0x22;
  }
  at += out.write(pieces[strings.length] as string, at);
  out.write(suffix, at);
  return out;
}

function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** A long string's escaped length; its UTF-8 bytes are kept only when some of them need escaping. */
function measure(text: string): LongString {
  if (!NEEDS_ESCAPE.test(text)) return { text, escaped: undefined, length: Buffer.byteLength(text) };
  const bytes = Buffer.from(text);
  let length = bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x20) length += SHORT_ESCAPES[byte] === undefined ? 5 : 1;
    else if (byte === 0x22 || byte === 0x5c) length += 1;
  }
  return { text, escaped: bytes, length };
}

/**
 * UTF-8 bytes escaped as JSON.stringify escapes them, into `out` from `at`; returns where they end.
 * The characters to escape are all ASCII, and in UTF-8 no byte of a multi-byte character is below
 * 0x80, so the bytes can be scanned one by one.
 */
function escapeInto(bytes: Buffer, out: Buffer, at: number): number {
  let from = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte >= 0x20 && byte !== 0x22 && byte !== 0x5c) continue;
    at += bytes.copy(out, at, from, i);
    from = i + 1;
    out[at++] = 0x5c;
    const short = SHORT_ESCAPES[byte];
    if (short !== undefined) {
      out[at++] = short;
      continue;
    }
    out[at++] = 0x75; // u
    out[at++] = 0x30;
    out[at++] = 0x30;
    out[at++] = HEX[byte >> 4] as number;
    out[at++] = HEX[byte & 0xf] as number;
  }
  return at + bytes.copy(out, at, from);
}
