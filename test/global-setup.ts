// The secrets scan's capture (local/capture.ts) lives for one run: empty at the start, removed at the end.
import { rmSync } from "node:fs";
import { CAPTURE_DIR_VARIABLE } from "../local/capture";

export default function setup(): () => void {
  const remove = () => {
    const dir = process.env[CAPTURE_DIR_VARIABLE];
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  remove();
  return remove;
}
