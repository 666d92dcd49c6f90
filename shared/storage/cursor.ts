// Opaque pagination cursors: base64url of a DynamoDB key. Not signed (they carry only keys the caller
// may read anyway), but decoded strictly: the shape, the partition and the range are checked against the
// query, so a malformed or foreign cursor is an InvalidCursorError (400), never a DynamoDB error (500).
import * as z from "zod";
import { InvalidCursorError } from "./errors";

const MAX_CURSOR_LENGTH = 2048;
const keyValue = z.string().min(1).max(1024);

export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

/** Decodes a cursor into a key with exactly `names` (string values), or throws InvalidCursorError. */
export function decodeCursor<const N extends string>(cursor: string, names: readonly N[]): Record<N, string> {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw new InvalidCursorError();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError();
  }
  const shape = Object.fromEntries(names.map((name) => [name, keyValue])) as Record<N, typeof keyValue>;
  const result = z.strictObject(shape).safeParse(parsed);
  if (!result.success) throw new InvalidCursorError();
  return result.data as Record<N, string>;
}
