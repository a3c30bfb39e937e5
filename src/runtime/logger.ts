import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const REDACTED = '[redacted]';

/** Shorter values are not real secrets, and replacing them would garble every line. */
const MIN_SECRET_LENGTH = 4;

const secrets = new Set<string>();

/**
 * Registers a secret VALUE (an API key read from the environment): from now on it is replaced by
 * `[redacted]` in every line the process logger writes, wherever it hides (a message, an error's
 * text, a nested field).
 */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

/** `text` with every registered secret and every value of `extra` replaced by `[redacted]`. */
export function redactSecrets(text: string, extra: Iterable<string | undefined> = []): string {
  let out = text;
  for (const secret of new Set([...secrets, ...extra])) {
    if (!secret || secret.length < MIN_SECRET_LENGTH) continue;
    // as written, and as it appears inside a JSON string (a log line, an echoed request body)
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) {
      out = out.split(form).join(REDACTED);
    }
  }
  return out;
}

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
