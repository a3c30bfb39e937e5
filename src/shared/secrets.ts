/**
 * Secret values (API keys read from the environment) known to this process, so every error text and
 * log line can be scrubbed of them wherever they hide. Any layer may import it.
 */
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
