/**
 * Whether a state-changing request comes from another site with the browser's cookie (a cross-site request
 * forgery): refused. A bearer token, the same origin, or no origin at all (a script, curl) pass.
 */
export function isCrossSite(request: Request): boolean {
  const headers = request.headers;
  if (headers.get('authorization')) return false;
  const site = headers.get('sec-fetch-site');
  if (site) return site !== 'same-origin' && site !== 'none';
  const origin = headers.get('origin');
  if (!origin) return false;
  try {
    return (
      new URL(origin).host !== (headers.get('x-forwarded-host') ?? headers.get('host') ?? new URL(request.url).host)
    );
  } catch {
    return true;
  }
}
