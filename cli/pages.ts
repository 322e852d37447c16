import { existsSync } from 'node:fs';
import type { CorePages } from '../core/server/app.ts';

/** The index and dead-letter pages come from the views package when it is installed; plain JSON otherwise. */
export async function corePages(): Promise<CorePages | undefined> {
  const url = new URL('../plugins/views/ui/pages.tsx', import.meta.url);
  if (!existsSync(url)) return undefined;
  const pages = (await import(url.href)) as { renderIndexPage: CorePages['index']; renderDeadLetterPage: CorePages['deadLetters'] };
  return { index: pages.renderIndexPage, deadLetters: pages.renderDeadLetterPage };
}
