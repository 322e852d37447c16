import { timingSafeEqual } from 'node:crypto';
import type { Access } from '../sdk/types.ts';
import { ACCESS_AREAS, DEFAULT_AREA_ROLE, type AccessArea, type AccessDeclaration } from '../manifest/access.ts';

/** The cookie the sign-in page sets (HttpOnly, SameSite=Lax) and every check reads. */
export const TOKEN_COOKIE = 'platform_token';

export type Denial = { status: 401 | 403; message: string };

/**
 * Role checks for pages and APIs, deny-by-default. A request proves a role with `Authorization: Bearer <token>` or
 * the `platform_token` cookie; a role holds itself and the roles it `includes`.
 * - No role declared: everything is open (the embedded demo; the start-up log says so).
 * - Roles declared: a check for a role nobody declared fails for everyone; a declared role whose token is empty
 *   (its variable unset) is open to anyone, and the start-up log says so.
 */
export class AccessControl implements Access {
  constructor(private readonly declaration: AccessDeclaration) {}

  check(request: Request, role: string): Denial | null {
    if (!this.enforced() || this.isOpen(role)) return null;
    if (!this.declaration.roles[role])
      return {
        status: 403,
        message: `this needs the ${role} role, which the manifest does not declare (access.roles): nobody can open it`,
      };
    const token = tokenOf(request);
    if (!token)
      return { status: 401, message: `this needs the ${role} role: sign in, or send Authorization: Bearer <token>` };
    return this.rolesOf(token).some((name) => this.holds(name, role))
      ? null
      : { status: 403, message: `the token does not grant the ${role} role` };
  }

  /** The check of a core area (`pipeline`, `dead-letter`, `metrics`) with the role the manifest gives it. */
  checkArea(request: Request, area: AccessArea): Denial | null {
    return this.check(request, this.roleFor(area));
  }

  roleFor(area: AccessArea): string {
    return this.declaration.areas?.[area] ?? DEFAULT_AREA_ROLE;
  }

  isPublic(view: string): boolean {
    return this.declaration.public.includes(view);
  }

  /** The declared roles whose token this is (the sign-in page accepts a token that is some role's). */
  rolesOf(token: string): string[] {
    return Object.entries(this.declaration.roles)
      .filter(([, r]) => r.token && equal(r.token, token))
      .map(([name]) => name);
  }

  /** Whether any check can fail: false when no role is declared. */
  enforced(): boolean {
    return Object.keys(this.declaration.roles).length > 0;
  }

  /** Roles that need no token, for the start-up banner. */
  openRoles(): string[] {
    return Object.keys(this.declaration.roles).filter((role) => this.isOpen(role));
  }

  /** What the start-up log says about access: who opens the core pages, and what is open to anyone. */
  banner(): { level: 'info' | 'warn'; message: string }[] {
    if (!this.enforced())
      return [
        {
          level: 'warn',
          message:
            'access: no roles declared (access.roles): every page and API is open to anyone who reaches the port',
        },
      ];
    const paths: Record<AccessArea, string> = {
      pipeline: '/, /api/pipeline, /api/openapi.json',
      'dead-letter': '/dead-letter, /api/dead-letter',
      metrics: '/metrics',
    };
    return [
      ...ACCESS_AREAS.map((area) => {
        const role = this.roleFor(area);
        if (!this.declaration.roles[role])
          return {
            level: 'warn' as const,
            message: `access: ${paths[area]} need role ${role}, which is not declared: nobody can open them (name a role with access.${area})`,
          };
        return { level: 'info' as const, message: `access: ${paths[area]} need role ${role}` };
      }),
      ...this.openRoles().map((role) => ({
        level: 'warn' as const,
        message: `access: role ${role} has no token configured: anyone can act as ${role}`,
      })),
    ];
  }

  private isOpen(role: string): boolean {
    const declared = this.declaration.roles[role];
    return declared !== undefined && !declared.token;
  }

  private holds(name: string, role: string, seen = new Set<string>()): boolean {
    if (name === role) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return (this.declaration.roles[name]?.includes ?? []).some((included) => this.holds(included, role, seen));
  }
}

/** The bearer token, else the cookie's; a malformed cookie counts as none (never an error). */
export function tokenOf(request: Request): string | undefined {
  const header = request.headers.get('authorization');
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim() || undefined;
  const cookie = request.headers
    .get('cookie')
    ?.split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${TOKEN_COOKIE}=`));
  if (!cookie) return undefined;
  try {
    return decodeURIComponent(cookie.slice(TOKEN_COOKIE.length + 1)) || undefined;
  } catch {
    return undefined;
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
