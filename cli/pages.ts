import type { Hono } from 'hono';
import type { CorePages } from '../core/server/app.ts';
import { corePages as viewPages, mountAssets } from '../plugins/views/index.ts';

/** The overview and dead-letter pages, and the browser bundle, come from the views package (core has no UI code). */
export const corePages: CorePages = viewPages;

export function mountCoreAssets(app: Hono): void {
  mountAssets(app);
}
