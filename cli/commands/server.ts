// What `platform run` needs to serve a pipeline, imported by it only for a server (not for --once).
export { serve } from '@hono/node-server';
export { createServer } from '../../core/server/app.ts';
export { corePages, mountCoreAssets } from '../pages.ts';
