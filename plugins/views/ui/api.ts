// Browser-side calls to a view's data API, and the URL form of filter values.
import type { FilterModel, Option, PageModel, WidgetResult } from './types.ts';

/** Every filter as a query parameter; an empty value ('') means "all" / "no range". */
export function filterParams(filters: FilterModel[]): URLSearchParams {
  const params = new URLSearchParams();
  for (const f of filters) {
    if (Array.isArray(f.value)) {
      if (f.value.length === 0) params.append(f.id, '');
      for (const v of f.value) params.append(f.id, v);
    } else params.append(f.id, f.value ?? '');
  }
  return params;
}

/** Only the filters that differ from their default: what the page URL shows. */
export function pageParams(filters: FilterModel[]): URLSearchParams {
  const changed = filters.filter((f) => JSON.stringify(f.value ?? null) !== JSON.stringify(f.defaultValue ?? null));
  return filterParams(changed);
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' }, signal });
  const body = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  return body;
}

export function widgetUrl(model: PageModel, widget: string, filters: FilterModel[], format?: 'csv'): string {
  const params = filterParams(filters);
  if (format) params.set('format', format);
  return `${model.paths.api}/${encodeURIComponent(widget)}?${params}`;
}

export async function fetchWidget(model: PageModel, widget: string, filters: FilterModel[], signal?: AbortSignal): Promise<WidgetResult> {
  try {
    return await getJson<WidgetResult>(widgetUrl(model, widget, filters), signal);
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    return { data: [], statistics: { rows: 0, elapsedMs: 0 }, meta: { columns: [], freshness: model.freshness }, error: (error as Error).message };
  }
}

export async function fetchOptions(model: PageModel, filter: string, filters: FilterModel[]): Promise<Option[]> {
  const body = await getJson<{ options: Option[] }>(`${model.paths.api}/filters/${encodeURIComponent(filter)}?${filterParams(filters)}`);
  return body.options;
}

export interface UploadOutcome {
  records: number;
  rejected: number;
  file: string;
  deadLetter: string;
}

/** Posts a file to an upload widget; a token typed by the user goes in the Authorization header. */
export async function upload(model: PageModel, widget: string, file: File, token?: string): Promise<UploadOutcome> {
  const form = new FormData();
  form.append('file', file, file.name);
  const response = await fetch(`${model.paths.api}/upload/${encodeURIComponent(widget)}`, {
    method: 'POST', body: form, credentials: 'same-origin', headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const body = (await response.json().catch(() => ({}))) as UploadOutcome & { error?: string };
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  return body;
}
