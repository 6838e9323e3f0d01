// The part of protobuf's wire format that CRIU's RPC (proto2) and the tests' CRI client (proto3)
// need: varints, bools, enums, strings, bytes and nested messages, optional or repeated (a map is a
// repeated message of key = 1, value = 2). A message is described by a schema — field name →
// number and type — so the messages themselves are tables (criu/rpc.ts). Pure.

export type Scalar = 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool' | 'string' | 'bytes';

export interface Field {
  number: number;
  type: Scalar | Schema;
  repeated?: boolean;
}

export type Schema = { readonly [name: string]: Field };

/** A decoded message: what the schema names; unknown fields are skipped. */
export type Decoded = { [name: string]: unknown };

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

function varint(value: bigint): number[] {
  const out: number[] = [];
  // Negative int32s are sign-extended to 64 bits on the wire: ten bytes.
  let v = BigInt.asUintN(64, value);
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return out;
}

function key(number: number, wireType: number): number[] {
  return varint(BigInt((number << 3) | wireType));
}

function encodeValue(field: Field, value: unknown): number[] {
  if (typeof field.type === 'object') {
    const body = encode(field.type, value as Decoded);
    return [...key(field.number, LEN), ...varint(BigInt(body.length)), ...body];
  }
  if (field.type === 'string' || field.type === 'bytes') {
    const bytes = field.type === 'string' ? Buffer.from(value as string, 'utf8') : (value as Buffer);
    return [...key(field.number, LEN), ...varint(BigInt(bytes.length)), ...bytes];
  }
  const n = field.type === 'bool' ? (value ? 1n : 0n) : BigInt(value as number | bigint);
  return [...key(field.number, VARINT), ...varint(n)];
}

/** The wire bytes of MESSAGE; fields that are undefined are left out. */
export function encode(schema: Schema, message: Decoded): Buffer {
  const out: number[] = [];
  for (const [name, field] of Object.entries(schema)) {
    const value = message[name];
    if (value === undefined) continue;
    for (const v of field.repeated ? (value as unknown[]) : [value]) out.push(...encodeValue(field, v));
  }
  return Buffer.from(out);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (this.pos >= this.buf.length) throw new Error('protobuf: truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
    }
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error('protobuf: truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === I64) this.bytes(8);
    else if (wireType === LEN) this.bytes(Number(this.varint()));
    else if (wireType === I32) this.bytes(4);
    else throw new Error(`protobuf: wire type ${wireType} is not supported`);
  }
}

function decodeScalar(type: Scalar, raw: bigint): unknown {
  if (type === 'bool') return raw !== 0n;
  if (type === 'int32') return Number(BigInt.asIntN(32, raw));
  if (type === 'int64') return BigInt.asIntN(64, raw);
  if (type === 'uint64') return BigInt.asUintN(64, raw);
  return Number(BigInt.asUintN(32, raw));
}

/** Decode BUF as a message of SCHEMA. */
export function decode(schema: Schema, buf: Buffer): Decoded {
  const byNumber = new Map(Object.entries(schema).map(([name, f]) => [f.number, [name, f] as const]));
  const out: Decoded = {};
  const r = new Reader(buf);
  while (!r.done) {
    const k = Number(r.varint());
    const number = k >>> 3;
    const wireType = k & 7;
    const known = byNumber.get(number);
    if (!known) {
      r.skip(wireType);
      continue;
    }
    const [name, field] = known;
    if (wireType === LEN && typeof field.type === 'string' && field.type !== 'string' && field.type !== 'bytes') {
      r.skip(wireType); // a packed repeated scalar (proto3): not needed by any message here
      continue;
    }
    let value: unknown;
    if (typeof field.type === 'object') value = decode(field.type, r.bytes(Number(r.varint())));
    else if (field.type === 'string') value = r.bytes(Number(r.varint())).toString('utf8');
    else if (field.type === 'bytes') value = Buffer.from(r.bytes(Number(r.varint())));
    else value = decodeScalar(field.type, r.varint());
    if (field.repeated) out[name] = [...((out[name] as unknown[]) ?? []), value];
    else out[name] = value;
  }
  return out;
}
