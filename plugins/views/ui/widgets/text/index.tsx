// The `text` widget: plain text on the page, blank lines between paragraphs.
import type { StaticWidgetContribution } from '../contribution.ts';
import { TextBody } from './body.tsx';

declare module '../../types.ts' {
  interface WidgetModel {
    /** text: plain text, blank lines separate paragraphs. */
    text?: string;
  }
}

const PROPERTIES = {
  text: { type: 'string', description: 'text: the content (plain text; blank lines separate paragraphs).' },
} as const;

export default {
  type: 'text',
  query: false,
  properties: PROPERTIES,
  width: 2,
  model: (config) => ({ text: config.text }),
  footer: false,
  Body: ({ widget }) => <TextBody text={widget.text ?? ''} />,
} as const satisfies StaticWidgetContribution<typeof PROPERTIES>;
