import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Sends the Temporal SDK's logs (workflow `log`, activity context loggers, the Rust core) through the
 * process's pino logger. Runtime.install may run once per process, before any connection or worker,
 * so only process entry points call this.
 */
export function installTemporalRuntime(logger: Logger, level: LogLevel = 'WARN'): void {
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
      // A compute node's worker runs activities only; that is its design, not a warning.
      if (message.startsWith('No workflows registered')) return;
      logger[PINO_LEVEL[entryLevel]]({ ...meta, source: 'temporal' }, message);
    }),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level }), forward: {} } },
  });
}
