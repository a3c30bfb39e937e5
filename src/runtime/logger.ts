import pino, { type Logger } from 'pino';

let processLogger: Logger | undefined;

/**
 * The one logger of the process: JSON lines on stderr (stdout belongs to the CLI's output), with
 * secrets and raw user data redacted.
 */
export function getLogger(): Logger {
  processLogger ??= pino(
    {
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
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
  return processLogger;
}
