import { timingSafeEqual } from 'node:crypto';
import type { Access } from '../sdk/types.ts';

export interface AccessDeclaration {
  roles: Record<string, { token?: string; includes?: string[] }>;
  public: string[];
}

/**
 * Role checks for views and APIs. A request proves a role with `Authorization: Bearer <token>` or the
 * `platform_token` cookie. A role holds itself and the roles it `includes`. A role that is not declared,
 * or declared with an empty token, is open (the embedded demo); the start-up log says so.
 */
export class AccessControl implements Access {
  constructor(private readonly declaration: AccessDeclaration) {}

  check(request: Request, role: string): { status: 401 | 403; message: string } | null {
    if (this.isOpen(role)) return null;
    const token = tokenOf(request);
    if (!token) return { status: 401, message: `this needs the ${role} role: send Authorization: Bearer <token>` };
    const granted = Object.entries(this.declaration.roles).some(([name, r]) => r.token && equal(r.token, token) && this.holds(name, role));
    return granted ? null : { status: 403, message: `the token does not grant the ${role} role` };
  }

  isPublic(view: string): boolean {
    return this.declaration.public.includes(view);
  }

  /** Roles that need no token, for the start-up banner. */
  openRoles(): string[] {
    return Object.keys(this.declaration.roles).filter((role) => this.isOpen(role));
  }

  private isOpen(role: string): boolean {
    const declared = this.declaration.roles[role];
    return !declared || !declared.token;
  }

  private holds(name: string, role: string, seen = new Set<string>()): boolean {
    if (name === role) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return (this.declaration.roles[name]?.includes ?? []).some((included) => this.holds(included, role, seen));
  }
}

function tokenOf(request: Request): string | undefined {
  const header = request.headers.get('authorization');
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  const cookie = request.headers.get('cookie')?.split(';').map((c) => c.trim()).find((c) => c.startsWith('platform_token='));
  return cookie ? decodeURIComponent(cookie.slice('platform_token='.length)) : undefined;
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
