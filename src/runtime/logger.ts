import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { REDACTED, redactSecrets } from '../shared/secrets';

/** Options of the process logger; the destination is a parameter so tests can read what it writes. */
export function loggerOptions(): LoggerOptions {
  return {
    level: process.env.STEWARD_LOG_LEVEL || 'info',
    redact: {
      paths: [
        'apiKey',
        '*.apiKey',
        'headers.authorization',
        '*.headers.authorization',
        'input',
        '*.input',
        'content',
        '*.content',
      ],
      censor: REDACTED,
    },
    // paths catch known fields; secret values can hide anywhere else, so the finished line is scrubbed
    hooks: { streamWrite: (line) => redactSecrets(line) },
  };
}

export function createLogger(destination: DestinationStream): Logger {
  return pino(loggerOptions(), destination);
}

let processLogger: Logger | undefined;

/**
 * The one logger of the process: JSON lines on stderr (stdout belongs to the CLI's output), with
 * secrets and raw user data redacted.
 */
export function getLogger(): Logger {
  processLogger ??= createLogger(pino.destination(2));
  return processLogger;
}
