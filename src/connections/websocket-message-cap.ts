import { ID_SCAN_BYTES } from './result-limit.js';

/** Hears that a message past the limit was left out: its first and last bytes, to find its id. */
export type OversizedMessageListener = (head: string, tail: string) => void;

/** RFC 6455 §5.2 opcodes: continuation, text, binary; 0x8 and up are control frames. */
const CONTINUATION = 0x0;
const LAST_DATA_OPCODE = 0x2;
const FIRST_CONTROL_OPCODE = 0x8;
const END_OF_HEADERS = Buffer.from('\r\n\r\n');
const SWITCHING_PROTOCOLS = /^HTTP\/1\.1 101[ \r]/;

/** The parts of one frame header this filter reads. */
interface FrameHeader {
  bytes: Buffer;
  fin: boolean;
  opcode: number;
  payloadLength: number;
}

/**
 * Leaves out of a websocket client's incoming byte stream every message whose payload passes
 * `maxBytes`, so the client never holds one and the connection goes on (RFC 6455 §5.2 frames,
 * server to client, so unmasked). The HTTP answer to the handshake passes unchanged; after a
 * `101`, frames are read one by one: control frames and single-frame messages within the limit
 * pass as they come, a fragmented message is held until its last fragment (at most `maxBytes`)
 * and then passed whole, and an oversized one is dropped, its first and last bytes reported.
 * Anything it does not expect (a masked frame, RSV bits, an unknown opcode) makes it step aside
 * and pass the rest unchanged, for the client to refuse.
 */
export class WebSocketMessageCap {
  private phase: 'handshake' | 'frames' | 'passthrough' = 'handshake';
  /** The first bytes of the HTTP answer, for its status line. */
  private status = '';
  /** The last bytes seen of the HTTP answer, to find its blank line across chunks. */
  private carry = Buffer.alloc(0);
  private headerBytes = Buffer.alloc(0);
  private frame: FrameHeader | undefined;
  private payloadLeft = 0;
  /** Whether the current frame's bytes go out as they come (else they are held or dropped). */
  private streaming = false;
  private held: Buffer[] = [];
  private messageBytes = 0;
  private oversized = false;
  private head = Buffer.alloc(0);
  private tail = Buffer.alloc(0);

  constructor(
    private readonly maxBytes: number,
    private readonly onOversized: OversizedMessageListener,
  ) {}

  /** The bytes of `chunk` to hand the client, in order (possibly none). */
  write(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let rest: Buffer = chunk;
    while (rest.length > 0) {
      if (this.phase === 'passthrough') {
        out.push(rest);
        break;
      }
      rest = this.phase === 'handshake' ? this.readHandshake(rest, out) : this.readFrames(rest, out);
    }
    return out;
  }

  /** Passes the HTTP answer through and returns what follows its blank line. */
  private readHandshake(chunk: Buffer, out: Buffer[]): Buffer {
    if (this.status.length < 16) this.status += chunk.toString('latin1', 0, 16 - this.status.length);
    const seen = Buffer.concat([this.carry, chunk]);
    const end = seen.indexOf(END_OF_HEADERS);
    if (end === -1) {
      out.push(chunk);
      this.carry = seen.subarray(-(END_OF_HEADERS.length - 1));
      return Buffer.alloc(0);
    }
    const afterHeaders = end + END_OF_HEADERS.length - this.carry.length;
    out.push(chunk.subarray(0, afterHeaders));
    // Any answer but 101 ends the handshake; its body is no frames.
    this.phase = SWITCHING_PROTOCOLS.test(this.status) ? 'frames' : 'passthrough';
    return chunk.subarray(afterHeaders);
  }

  private readFrames(chunk: Buffer, out: Buffer[]): Buffer {
    if (this.frame === undefined) return this.readHeader(chunk, out);
    const take = Math.min(this.payloadLeft, chunk.length);
    this.payload(chunk.subarray(0, take), out);
    this.payloadLeft -= take;
    if (this.payloadLeft === 0) this.endFrame(out);
    return chunk.subarray(take);
  }

  private readHeader(chunk: Buffer, out: Buffer[]): Buffer {
    const before = this.headerBytes.length;
    const bytes = Buffer.concat([this.headerBytes, chunk.subarray(0, 14)]);
    const header = parseHeader(bytes);
    if (header === 'incomplete') {
      this.headerBytes = bytes;
      return Buffer.alloc(0);
    }
    this.headerBytes = Buffer.alloc(0);
    if (header === 'unexpected') {
      this.phase = 'passthrough';
      out.push(...this.held, bytes.subarray(0, before));
      this.held = [];
      return chunk;
    }
    this.startFrame(header, out);
    if (header.payloadLength === 0) this.endFrame(out);
    return chunk.subarray(header.bytes.length - before);
  }

  private startFrame(header: FrameHeader, out: Buffer[]): void {
    this.frame = header;
    this.payloadLeft = header.payloadLength;
    if (header.opcode >= FIRST_CONTROL_OPCODE) {
      this.streaming = true;
      out.push(header.bytes);
      return;
    }
    if (header.opcode !== CONTINUATION) this.startMessage();
    this.messageBytes += header.payloadLength;
    if (!this.oversized && this.messageBytes > this.maxBytes) {
      this.oversized = true;
      this.held = [];
    }
    // A whole message in one frame within the limit needs no holding.
    this.streaming = !this.oversized && header.fin && header.opcode !== CONTINUATION;
    if (this.streaming) out.push(header.bytes);
    else if (!this.oversized) this.held.push(header.bytes);
  }

  private startMessage(): void {
    this.held = [];
    this.messageBytes = 0;
    this.oversized = false;
    this.head = Buffer.alloc(0);
    this.tail = Buffer.alloc(0);
  }

  private payload(bytes: Buffer, out: Buffer[]): void {
    if (this.streaming) {
      out.push(bytes);
      return;
    }
    if (this.head.length < ID_SCAN_BYTES) {
      this.head = Buffer.concat([this.head, bytes.subarray(0, ID_SCAN_BYTES - this.head.length)]);
    }
    this.tail = Buffer.concat([this.tail, bytes.subarray(-ID_SCAN_BYTES)]).subarray(-ID_SCAN_BYTES);
    if (!this.oversized) this.held.push(bytes);
  }

  private endFrame(out: Buffer[]): void {
    const frame = this.frame;
    this.frame = undefined;
    if (frame === undefined || frame.opcode >= FIRST_CONTROL_OPCODE || !frame.fin) return;
    if (this.oversized) this.onOversized(this.head.toString('utf8'), this.tail.toString('utf8'));
    else if (!this.streaming) out.push(Buffer.concat(this.held));
    this.startMessage();
  }
}

/** Reads a server frame's header (RFC 6455 §5.2) from the start of `bytes`. */
function parseHeader(bytes: Buffer): FrameHeader | 'incomplete' | 'unexpected' {
  const first = bytes[0];
  const second = bytes[1];
  if (first === undefined || second === undefined) return 'incomplete';
  const opcode = first & 0x0f;
  const known = opcode <= LAST_DATA_OPCODE || (opcode >= FIRST_CONTROL_OPCODE && opcode <= 0x0a);
  // RSV bits (no extension was offered) or a mask (servers never mask) are the client's to refuse.
  if ((first & 0x70) !== 0 || (second & 0x80) !== 0 || !known) return 'unexpected';
  const short = second & 0x7f;
  const size = short === 126 ? 4 : short === 127 ? 10 : 2;
  if (bytes.length < size) return 'incomplete';
  let payloadLength = short;
  if (short === 126) payloadLength = bytes.readUInt16BE(2);
  if (short === 127) {
    const long = bytes.readBigUInt64BE(2);
    if (long > BigInt(Number.MAX_SAFE_INTEGER)) return 'unexpected';
    payloadLength = Number(long);
  }
  return { bytes: bytes.subarray(0, size), fin: (first & 0x80) !== 0, opcode, payloadLength };
}
