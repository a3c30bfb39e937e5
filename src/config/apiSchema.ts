import { z } from 'zod';

/**
 * The front door's section of steward.yaml (README: Front door): where the HTTP API and the review
 * lane listen, who may call them (bearer tokens stored as sha256, or an OIDC issuer's JWTs), and the
 * limits every route has. Every number is bounded; every URL is checked.
 */

/** Printable text without quotes or backslashes: it goes into visibility queries and HTML as data. */
const identity = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f'"\\]+$/, 'expected printable text without quotes or backslashes');
const role = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'a role is letters, digits and _ . : -');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or http to this machine only (a test's or a local identity provider's). */
const secureUrl = () =>
  z.string().superRefine((value, ctx) => {
    const url = URL.canParse(value) ? new URL(value) : undefined;
    const problem = !url
      ? 'expected a URL'
      : url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))
        ? 'expected an https URL (http only on 127.0.0.1 or localhost)'
        : url.username || url.password
          ? 'a URL here must not carry credentials'
          : url.hash
            ? 'a URL here must not have a fragment'
            : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const apiTokenSchema = z
  .object({
    identity,
    roles: z.array(role).max(50).default([]),
    /** sha256 (hex) of the token; the token itself is never stored (`steward tokens create`). */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the sha256 of the token, 64 hex digits'),
  })
  .strict();

export const oidcSchema = z
  .object({
    /** Must equal the JWT's `iss`. */
    issuer: secureUrl(),
    /** Must be in the JWT's `aud`. */
    audience: z.string().min(1).max(500),
    /** Where the issuer publishes its signing keys (JWKS). */
    jwksUrl: secureUrl(),
    /** The claim that names the caller. */
    identityClaim: z.string().min(1).max(100).default('sub'),
    /**
     * What the issuer's identities begin with, so none can equal a local one (the OS user `root`, a
     * token's `alice`): `oidc:<issuer host>/` by default. It holds a ':', which no OS user name does.
     */
    identityPrefix: z
      .string()
      .min(2)
      .max(100)
      .regex(
        /^[A-Za-z0-9._-]*:[A-Za-z0-9._:/@-]*$/,
        "expected a prefix with a ':', such as idp: or oidc:id.example.com/",
      )
      .optional(),
    /** The claim that lists the caller's roles (an array, or one space-separated string). */
    rolesClaim: z.string().min(1).max(100).default('roles'),
    /** Accepted clock skew between this machine and the issuer. */
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    algorithms: z
      .array(
        z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
      )
      .min(1)
      .max(10)
      .default(['RS256', 'ES256', 'EdDSA']),
  })
  .strict();

export const apiSchema = z
  .object({
    host: z.string().min(1).max(255).default('127.0.0.1'),
    /** 0: any free port. */
    port: z.number().int().min(0).max(65535).default(8787),
    tokens: z
      .array(apiTokenSchema)
      .max(10_000)
      .superRefine((tokens, ctx) => {
        const seen = new Set<string>();
        tokens.forEach((t, i) => {
          if (seen.has(t.sha256))
            ctx.addIssue({ code: 'custom', path: [i, 'sha256'], message: 'this token is listed twice' });
          seen.add(t.sha256);
        });
      })
      .default([]),
    oidc: oidcSchema.optional(),
    /** Requests one client address may make per window, on every route. */
    rateLimit: z
      .object({
        max: z.number().int().min(1).max(1_000_000).default(600),
        windowSeconds: z.number().int().min(1).max(3600).default(60),
      })
      .strict()
      .prefault({}),
    /** The largest request body any route takes. */
    bodyLimitBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(1024 * 1024),
    /** The Temporal UI to link tasks to (default: the running `steward dev`'s). */
    temporalUiUrl: secureUrl().optional(),
  })
  .strict();

export type ApiConfig = z.output<typeof apiSchema>;
