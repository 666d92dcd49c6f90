// Benchmarks that start an embedded stack run in their own process (the handlers cache their
// configuration at import: one stack per process), forked with an IPC channel to send their figures back.
import { fork } from "node:child_process";

/** Runs `script` with `args` in a child process and resolves with the one message it sends back. */
export function runInChild<T>(script: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [...args], {
      execArgv: ["--import", import.meta.resolve("tsx")],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: T | undefined;
    child.once("message", (message) => {
      result = message as T;
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (result !== undefined && code === 0) resolve(result);
      else reject(new Error(`${script} ${args.join(" ")} exited with ${code} without a result`));
    });
  });
}
