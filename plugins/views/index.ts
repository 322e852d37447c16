// The server-rendered pages and the browser assets, for the server to wire in. The view plugins themselves are
// contributed by name in plugins/builtin.ts and imported when a manifest uses them.
/** `CorePages` for core/server: the pipeline overview (/) and the dead-letter browser (/dead-letter). */
export { corePages, renderDeadLetterPage, renderIndexPage, renderSignInPage } from './ui/pages.tsx';
/** Serves the browser bundle at /assets/views/* (idempotent; the dashboards call it themselves). */
export { mountAssets } from './shared/assets.ts';
