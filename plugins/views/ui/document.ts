// The HTML document around server-rendered pages: stylesheet, theme script, optional page model and app bundle.
import { jsonForScript } from '../shared/serialize.ts';
import { escapeHtml } from '../shared/http.ts';

export interface Assets {
  css: string;
  /** The dashboards' script. */
  js: string;
  /** The pipeline page's script. */
  pipeline?: string;
  theme: string;
}

export const ASSET_PREFIX = '/assets/views';

export function defaultAssets(version = ''): Assets {
  const v = version ? `?v=${version}` : '';
  return {
    css: `${ASSET_PREFIX}/app.css${v}`,
    js: `${ASSET_PREFIX}/app.js${v}`,
    pipeline: `${ASSET_PREFIX}/pipeline.js${v}`,
    theme: `${ASSET_PREFIX}/theme.js${v}`,
  };
}

/** A page; with `model`, the script (the dashboards' unless another is named) hydrates it from that JSON. */
export function renderDocument(input: {
  title: string;
  body: string;
  assets: Assets;
  model?: unknown;
  script?: string;
}): string {
  const { title, body, assets, model } = input;
  const script = input.script ?? assets.js;
  return [
    '<!doctype html>',
    '<html lang="en" data-theme="light">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<link rel="icon" href="data:,">',
    `<link rel="stylesheet" href="${escapeHtml(assets.css)}">`,
    `<script src="${escapeHtml(assets.theme)}"></script>`,
    model === undefined ? '' : `<script type="module" src="${escapeHtml(script)}"></script>`,
    '</head>',
    '<body>',
    `<div id="app">${body}</div>`,
    model === undefined ? '' : `<script type="application/json" id="view-model">${jsonForScript(model)}</script>`,
    '</body>',
    '</html>',
  ]
    .filter(Boolean)
    .join('\n');
}
