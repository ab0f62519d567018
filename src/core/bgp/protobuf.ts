/**
 * The protobuf wire format, read only (what GoBGP's API answers): fields by number, bounded by the
 * buffer they are in. Groups (wire types 3 and 4) and anything cut short are refused: the bytes
 * come from a container.
 */

export type Field =
  | { no: number; wire: 0; value: number }
  | { no: number; wire: 2; value: Buffer }
  | { no: number; wire: 1 | 5; value: Buffer };

export class ProtobufError extends Error {}

/** A varint at `at`: its value (exact up to 2^53) and where the next byte is. */
function varint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= buf.length) throw new ProtobufError('a varint runs past the end');
    const b = buf[at++] as number;
    value += (b & 0x7f) * scale;
    if (!(b & 0x80)) return [value, at];
    scale *= 128;
  }
  throw new ProtobufError('a varint longer than 10 bytes');
}

/** Every field of one message, in order. */
export function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const [key, next] = varint(buf, at);
    at = next;
    const no = Math.floor(key / 8);
    const wire = key % 8;
    if (no < 1) throw new ProtobufError('a field number 0');
    if (wire === 0) {
      const [value, after] = varint(buf, at);
      out.push({ no, wire, value });
      at = after;
    } else if (wire === 2) {
      const [len, after] = varint(buf, at);
      if (len > buf.length - after) throw new ProtobufError(`field ${no} runs past the end`);
      out.push({ no, wire, value: buf.subarray(after, after + len) });
      at = after + len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (len > buf.length - at) throw new ProtobufError(`field ${no} runs past the end`);
      out.push({ no, wire, value: buf.subarray(at, at + len) });
      at += len;
    } else {
      throw new ProtobufError(`wire type ${wire} (field ${no}) is not read`);
    }
  }
  return out;
}

/** A message's fields by number (the last of a scalar wins, as protobuf says; `all` keeps repeated ones). */
export class Message {
  readonly #fields: Field[];
  constructor(buf: Buffer) {
    this.#fields = fields(buf);
  }
  #last(no: number): Field | undefined {
    for (let i = this.#fields.length - 1; i >= 0; i--) if ((this.#fields[i] as Field).no === no) return this.#fields[i];
    return undefined;
  }
  /** a varint field (0 when absent, as proto3 says) */
  uint(no: number): number {
    const f = this.#last(no);
    return f?.wire === 0 ? f.value : 0;
  }
  string(no: number): string {
    const f = this.#last(no);
    return f?.wire === 2 ? f.value.toString('utf8') : '';
  }
  message(no: number): Message | undefined {
    const f = this.#last(no);
    return f?.wire === 2 ? new Message(f.value) : undefined;
  }
  messages(no: number): Message[] {
    return this.#fields.filter((f): f is Field & { wire: 2 } => f.no === no && f.wire === 2).map((f) => new Message(f.value));
  }
}
