// The view plugins and the server-rendered pages, for the runtime and server to wire in.
import type { ContainerModule } from '../../core/sdk/index.ts';
import api from './api/index.ts';
import dashboard from './dashboard/index.ts';

export { default as dashboardView } from './dashboard/index.ts';
export { default as apiView } from './api/index.ts';
/** `CorePages` for core/server: the pipeline overview (/) and the dead-letter browser (/dead-letter). */
export { corePages, renderDeadLetterPage, renderIndexPage, renderSignInPage } from './ui/pages.tsx';
/** Serves the browser bundle at /assets/views/* (idempotent; the dashboards call it themselves). */
export { mountAssets } from './shared/assets.ts';

export const viewPluginModules: ContainerModule[] = [dashboard, api];
