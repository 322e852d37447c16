// The `upload` widget: a file sent to the view fires the source step(s) of `target` with it (see dashboard/upload.ts).
import type { StaticWidgetContribution } from '../contribution.ts';
import { UploadBody } from './body.tsx';

declare module '../../types.ts' {
  interface WidgetModel {
    /** upload: the extensions accepted, lower case with their dot. */
    accept?: string[];
    /** upload: the source step(s) the upload feeds, in firing order. */
    target?: string[];
    /** upload: the size limit in bytes. */
    maxBytes?: number;
  }
}

/** An upload widget's target(s) as a list, in firing order. */
export function uploadTargets(target: string | string[] | undefined): string[] {
  return target === undefined ? [] : ([] as string[]).concat(target);
}

/** Allowed extensions, lower case with their dot (`accept: xlsx, .CSV` → ['.xlsx', '.csv']). */
export function acceptList(accept: string | string[] | undefined): string[] {
  const list = accept === undefined ? ['.xlsx', '.csv'] : ([] as string[]).concat(accept).flatMap((a) => a.split(','));
  return list
    .map((a) => a.trim().toLowerCase())
    .filter(Boolean)
    .map((a) => (a.startsWith('.') ? a : `.${a}`));
}

const PROPERTIES = {
  target: {
    anyOf: [
      { type: 'string', minLength: 1 },
      { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    ],
    description:
      'upload: the source step fired with the uploaded file, or several fired in order with the same file (e.g. one per sheet of a workbook).',
    examples: ['orders_file', ['products_sheet', 'clients_sheet']],
  },
  accept: {
    type: ['string', 'array'],
    items: { type: 'string' },
    default: ['.xlsx', '.csv'],
    description: 'upload: allowed file extensions.',
  },
  maxBytes: { type: 'integer', minimum: 1, description: "upload: size limit (default: the view's maxUploadBytes)." },
} as const;

export default {
  type: 'upload',
  query: false,
  properties: PROPERTIES,
  width: 2,
  check: (config) => (config.target ? undefined : 'needs a target: the source step to fire'),
  // The card reports on the sources it feeds.
  from: (config) => uploadTargets(config.target),
  model: (config, view) => ({
    accept: acceptList(config.accept),
    target: uploadTargets(config.target),
    maxBytes: config.maxBytes ?? view.maxUploadBytes,
  }),
  footer: true,
  Body: ({ widget, model }) => <UploadBody widget={widget} model={model} locale={model.locale} />,
} as const satisfies StaticWidgetContribution<typeof PROPERTIES>;
