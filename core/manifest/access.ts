// The manifest's `access:`: roles, public views and the role of each core area (checked by core/runtime/access.ts).

/** The core pages and APIs, each opened to one role by `access:` (default `viewer`). */
export const ACCESS_AREAS = ['pipeline', 'dead-letter', 'metrics'] as const;
export type AccessArea = (typeof ACCESS_AREAS)[number];

/** The role an area needs when `access:` names none. */
export const DEFAULT_AREA_ROLE = 'viewer';

export interface AccessDeclaration {
  roles: Record<string, { token?: string; includes?: string[] }>;
  public: string[];
  /** The role each core area needs (`access: { dead-letter: admin }`); absent ones need `viewer`. */
  areas?: Partial<Record<AccessArea, string>>;
}
