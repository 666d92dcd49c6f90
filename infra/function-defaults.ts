// Every function's memory and timeout unless its construct sets its own (MxFunction), as plain data: the
// local Lambda context (local/lambda-context.ts) reports the same values without importing the CDK.

/** 512 MB; 30 s, which a sync task's MX budget ends 3 s before (shared/mx/budget.ts). */
export const FUNCTION_DEFAULTS = { memorySize: 512, timeoutSeconds: 30 } as const;
