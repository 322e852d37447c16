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
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** True for the error of a request that was aborted (superseded by a newer one, or the page going away). */
export function isAbort(error: unknown): boolean {
  return (error as Error | null)?.name === 'AbortError';
}

/**
 * GETs JSON. An aborted request rejects with an AbortError, also when the abort comes while the body is read
 * (a body cut short is never taken for an empty answer); a non-JSON body is an error, never `{}`.
 */
async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' }, signal });
  let body: T & { error?: string };
  try {
    body = (await response.json()) as T & { error?: string };
  } catch (error) {
    if (signal?.aborted || isAbort(error))
      throw error instanceof Error && isAbort(error) ? error : new DOMException('aborted', 'AbortError');
    throw new ApiError(response.status, `HTTP ${response.status}: the answer is not JSON`);
  }
  if (!response.ok) throw new ApiError(response.status, body?.error ?? `HTTP ${response.status}`);
  return body;
}

/** A table's request: its page, sort and search (all done by the server). */
export interface TableQuery {
  offset: number;
  sort: string | null;
  order: 'asc' | 'desc';
  q: string;
}

export function widgetUrl(
  model: PageModel,
  widget: string,
  filters: FilterModel[],
  format?: 'csv',
  table?: TableQuery,
  limit?: number,
): string {
  const params = filterParams(filters);
  if (format) params.set('format', format);
  if (table && !format) {
    if (limit) params.set('limit', String(limit));
    if (table.offset) params.set('offset', String(table.offset));
    if (table.sort) params.set('sort', table.sort);
    if (table.sort && table.order === 'desc') params.set('order', 'desc');
    if (table.q.trim()) params.set('q', table.q.trim());
  } else if (table && format) {
    if (table.sort) params.set('sort', table.sort);
    if (table.sort && table.order === 'desc') params.set('order', 'desc');
    if (table.q.trim()) params.set('q', table.q.trim());
  }
  return `${model.paths.api}/${encodeURIComponent(widget)}?${params}`;
}

function isResult(body: unknown): body is WidgetResult {
  const result = body as WidgetResult | null;
  return Boolean(
    result && Array.isArray(result.data) && result.meta && Array.isArray(result.meta.columns) && result.meta.freshness,
  );
}

/** A widget's answer; a failed request becomes a result with `error` (shown on its card). Aborts reject. */
export async function fetchWidget(
  model: PageModel,
  widget: string,
  filters: FilterModel[],
  signal?: AbortSignal,
  table?: TableQuery,
  limit?: number,
): Promise<WidgetResult> {
  try {
    const body = await getJson<unknown>(widgetUrl(model, widget, filters, undefined, table, limit), signal);
    if (!isResult(body)) throw new Error('the answer is not a widget result');
    return body;
  } catch (error) {
    if (isAbort(error) || signal?.aborted) throw isAbort(error) ? error : new DOMException('aborted', 'AbortError');
    return {
      data: [],
      statistics: { rows: 0, elapsedMs: 0 },
      meta: { columns: [], freshness: model.freshness },
      error: (error as Error).message,
    };
  }
}

export async function fetchOptions(model: PageModel, filter: string, filters: FilterModel[]): Promise<Option[]> {
  const body = await getJson<{ options: Option[] }>(
    `${model.paths.api}/filters/${encodeURIComponent(filter)}?${filterParams(filters)}`,
  );
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
    method: 'POST',
    body: form,
    credentials: 'same-origin',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const body = (await response.json().catch(() => ({}))) as UploadOutcome & { error?: string };
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  return body;
}
