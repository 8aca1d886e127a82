// What the PostgreSQL and Redis stores share for the core's byte-level
// calls (Node and Deno only: the browsers have no server stores).
import { Buffer } from 'node:buffer';

/** A Uint8Array the wasm module made, as a Buffer (no copy): what pg sends
 *  as bytea and ioredis as bytes. */
export const asBuffer = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
