/**
 * Who is calling: a bearer token from steward.yaml (kept as its sha256) or a JWT from the configured
 * OIDC issuer, verified against the issuer's published keys. The identity and roles come from there
 * and nowhere else; the body of a request never names who decides.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { ApiConfig } from '../config/apiSchema';
import { ApiError } from './errors';

export interface Caller {
  identity: string;
  roles: string[];
  via: 'token' | 'oidc' | 'dev';
}

/**
 * What each role may do; other role names (a policy's `reviewer`, `manager`) grant nothing here but
 * are matched against approval requests that name roles.
 */
export const PERMISSIONS = {
  /** See tasks, their state and audit trail. */
  read: ['viewer', 'operator', 'approver', 'admin'],
  /** Start tasks (on one's own behalf) and cancel them. */
  operate: ['operator', 'admin'],
  /** See the approvals waiting for one, and decide them. */
  decide: ['approver', 'admin'],
  /** Start a task on behalf of another principal. */
  delegate: ['admin'],
} as const;

export type Permission = keyof typeof PERMISSIONS;
export const API_ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;

export function may(caller: Caller, permission: Permission): boolean {
  return caller.roles.some((r) => (PERMISSIONS[permission] as readonly string[]).includes(r));
}

export function demand(caller: Caller, permission: Permission): void {
  if (!may(caller, permission)) {
    const roles = PERMISSIONS[permission].join(' or ');
    throw new ApiError(
      'forbidden',
      `${caller.identity} may not ${permissionText[permission]}: that needs the role ${roles} (has ${caller.roles.join(', ') || 'none'})`,
    );
  }
}

const permissionText: Record<Permission, string> = {
  read: 'read tasks',
  operate: 'start or cancel tasks',
  decide: 'decide approvals',
  delegate: 'start a task on behalf of someone else',
};

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A new API token: 32 random bytes, prefixed so a leaked one is recognisable in a scan. */
export function newToken(): { token: string; sha256: string } {
  const token = `stw_${randomBytes(32).toString('base64url')}`;
  return { token, sha256: sha256Hex(token) };
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_CREDENTIAL_CHARS = 8192;

export interface Authenticator {
  /** The caller a credential stands for; an ApiError (401) when it stands for nobody. */
  authenticate(credential: string | undefined): Promise<Caller>;
  /** True when at least one identity can sign in (tokens or OIDC). */
  readonly configured: boolean;
}

/**
 * Checks credentials against the config's tokens (and `extra`, e.g. `steward dev`'s one-time token)
 * and, for JWTs, the OIDC issuer. The issuer's key set is fetched when first needed and cached by jose
 * (refetched when a JWT names a key it does not have).
 */
export function createAuthenticator(
  api: Pick<ApiConfig, 'tokens' | 'oidc'>,
  extra: Array<{ identity: string; roles: string[]; sha256: string; via?: Caller['via'] }> = [],
): Authenticator {
  const byHash = new Map<string, Caller>();
  for (const t of api.tokens)
    byHash.set(t.sha256, { identity: t.identity, roles: [...t.roles], via: 'token' });
  for (const t of extra)
    byHash.set(t.sha256, { identity: t.identity, roles: [...t.roles], via: t.via ?? 'token' });
  const oidc = api.oidc;
  const keys = oidc ? createRemoteJWKSet(new URL(oidc.jwksUrl), { timeoutDuration: 5000 }) : undefined;
  const prefix = oidc ? oidcIdentityPrefix(oidc) : '';

  async function verifyJwt(jwt: string): Promise<Caller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, keys!, {
        issuer: oidc!.issuer,
        audience: oidc!.audience,
        algorithms: oidc!.algorithms,
        clockTolerance: oidc!.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw new ApiError('unauthorized', `the token was not accepted: ${jwtProblem(err)}`);
    }
    const claim = payload[oidc!.identityClaim];
    const identity = typeof claim === 'string' ? `${prefix}${claim}` : undefined;
    // eslint-disable-next-line no-control-regex
    if (!claim || !identity || !/^[^\u0000-\u001f\u007f'"\\]{1,200}$/.test(identity))
      throw new ApiError('unauthorized', `the token's ${oidc!.identityClaim} claim is not a usable identity`);
    const claimed = payload[oidc!.rolesClaim];
    const roles = (
      Array.isArray(claimed) ? claimed : typeof claimed === 'string' ? claimed.split(' ') : []
    ).filter((r): r is string => typeof r === 'string' && /^[A-Za-z0-9_.:-]{1,100}$/.test(r));
    return { identity, roles: roles.slice(0, 50), via: 'oidc' };
  }

  return {
    configured: byHash.size > 0 || oidc !== undefined,
    async authenticate(credential) {
      if (!credential)
        throw new ApiError('unauthorized', 'no credentials: send Authorization: Bearer <token>');
      if (credential.length > MAX_CREDENTIAL_CHARS)
        throw new ApiError('unauthorized', 'the token is too long');
      const known = byHash.get(sha256Hex(credential));
      if (known) return { ...known, roles: [...known.roles] };
      if (oidc && JWT_SHAPE.test(credential)) return verifyJwt(credential);
      throw new ApiError('unauthorized', 'the token is not known');
    },
  };
}

/**
 * What an issuer's identities begin with: the configured `identityPrefix`, or `oidc:<issuer host>/`.
 * An issuer's `sub: root` is `oidc:id.example.com/root`, never the local user `root` (the default
 * approver) nor a token's identity: a JWT names someone only inside its issuer's namespace.
 */
export function oidcIdentityPrefix(oidc: { issuer: string; identityPrefix?: string }): string {
  return oidc.identityPrefix ?? `oidc:${new URL(oidc.issuer).host}/`;
}

function jwtProblem(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'it has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim ${err.claim} ${err.reason}`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'no key of the issuer matches it';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'its algorithm is not allowed';
  if (err instanceof joseErrors.JWKSTimeout) return "the issuer's keys could not be fetched in time";
  if (err instanceof joseErrors.JOSEError) return err.code;
  return 'it could not be verified';
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
