/**
 * The review lane's session: the pasted token is kept in an HttpOnly, SameSite=Strict cookie (so page
 * scripts never see it and other sites never send it), and every form carries a CSRF token derived
 * from it with a key that lives only in this server process.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'steward_session';
export const LOGIN_COOKIE = 'steward_login';
const SESSION_SECONDS = 12 * 3600;

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    if (!name || name in out) continue;
    try {
      out[name] = decodeURIComponent(raw);
    } catch {
      out[name] = raw;
    }
  }
  return out;
}

export function cookie(
  name: string,
  value: string,
  options: { path: string; maxAgeSeconds?: number; secure: boolean },
): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAgeSeconds ?? SESSION_SECONDS}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

export function clearedCookie(name: string, path: string): string {
  return `${name}=; Path=${path}; Max-Age=0; HttpOnly; SameSite=Strict`;
}

export class CsrfTokens {
  private readonly key = randomBytes(32);

  /** The CSRF token of a session (its credential): a form without it, or with another, is refused. */
  forSession(credential: string): string {
    return createHmac('sha256', this.key).update(`session:${credential}`).digest('base64url');
  }

  check(credential: string, token: unknown): boolean {
    return typeof token === 'string' && same(this.forSession(credential), token);
  }

  /** A login form's token: random, also set as a cookie, and both must agree. */
  newLogin(): string {
    return randomBytes(24).toString('base64url');
  }
}

export function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
