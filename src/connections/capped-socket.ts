import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { WebSocketMessageCap } from './websocket-message-cap.js';

/**
 * A socket as a websocket client sees it, whose incoming bytes pass through a
 * {@link WebSocketMessageCap} first; writes, end and destroy go straight to the real socket. It
 * offers the few socket methods the HTTP client and ws call (`setTimeout`, `setNoDelay`,
 * `setKeepAlive`).
 */
export class CappedSocket extends Duplex {
  constructor(
    private readonly inner: Socket,
    cap: WebSocketMessageCap,
  ) {
    super({ allowHalfOpen: false });
    inner.on('data', (chunk: Buffer) => {
      let more = true;
      for (const part of cap.write(chunk)) more = this.push(part) && more;
      if (!more) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('timeout', () => this.emit('timeout'));
    inner.on('error', (error) => this.destroy(error));
    inner.on('close', () => this.destroy());
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.inner.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy(error ?? undefined);
    callback(error);
  }

  setTimeout(ms: number, onTimeout?: () => void): this {
    this.inner.setTimeout(ms);
    if (onTimeout) this.once('timeout', onTimeout);
    return this;
  }

  setNoDelay(noDelay?: boolean): this {
    this.inner.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.inner.setKeepAlive(enable, initialDelay);
    return this;
  }
}
