// Upload card body: pick or drop a file, send it to the view (which fires the target source), show the outcome.
import type { JSX } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { ApiError, upload, type UploadOutcome } from '../../api.ts';
import { formatValue } from '../../format.ts';
import type { PageModel, WidgetModel } from '../../types.ts';
import { deadLetterHref } from '../../components/card.tsx';
import { UploadIcon } from '../../components/icons.tsx';

type State =
  | { kind: 'idle' }
  | { kind: 'sending'; name: string }
  | { kind: 'done'; outcome: UploadOutcome; name: string }
  | { kind: 'failed'; message: string; status: number };

const TOKEN_KEY = 'platform-upload-token';

export function UploadBody({
  widget,
  model,
  locale,
}: {
  widget: WidgetModel;
  model: PageModel;
  locale: string;
}): JSX.Element {
  const [state, setState] = useState<State>({ kind: 'idle' });
  const [dragging, setDragging] = useState(false);
  const [token, setToken] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const accept = widget.accept ?? [];

  const send = async (file: File | undefined) => {
    if (!file) return;
    const ext = file.name.slice(file.name.lastIndexOf('.')).toLowerCase();
    if (accept.length && !accept.includes(ext))
      return setState({
        kind: 'failed',
        status: 400,
        message: `${file.name}: only ${accept.join(', ')} files are accepted`,
      });
    if (widget.maxBytes && file.size > widget.maxBytes)
      return setState({
        kind: 'failed',
        status: 413,
        message: `${file.name} is larger than ${formatValue(widget.maxBytes / 1048576, { locale })} MiB`,
      });
    setState({ kind: 'sending', name: file.name });
    try {
      const saved = token || sessionStorage.getItem(TOKEN_KEY) || undefined;
      const outcome = await upload(model, widget.id, file, saved);
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      setState({ kind: 'done', outcome, name: file.name });
    } catch (error) {
      setState({
        kind: 'failed',
        message: (error as Error).message,
        status: error instanceof ApiError ? error.status : 0,
      });
    } finally {
      if (input.current) input.current.value = '';
    }
  };

  const needsToken = state.kind === 'failed' && (state.status === 401 || state.status === 403);
  return (
    <div class="upload">
      <label
        class={`dropzone${dragging ? ' dropzone-over' : ''}${state.kind === 'sending' ? ' dropzone-busy' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          void send(e.dataTransfer?.files[0]);
        }}
      >
        <UploadIcon />
        <span class="dropzone-title">
          {state.kind === 'sending' ? `Uploading ${state.name}…` : 'Drop a file here or click to choose'}
        </span>
        <span class="dropzone-hint">
          {accept.join(', ')}
          {widget.maxBytes ? ` · up to ${formatValue(widget.maxBytes / 1048576, { locale, decimals: 0 })} MiB` : ''}
          {widget.target?.length ? ` · loads into ${widget.target.join(', ')}` : ''}
        </span>
        <input
          ref={input}
          type="file"
          name="file"
          accept={accept.join(',')}
          disabled={state.kind === 'sending'}
          onChange={(e) => void send((e.target as HTMLInputElement).files?.[0])}
        />
      </label>
      {state.kind === 'done' && (
        <div
          class={`upload-result ${state.outcome.rejected ? 'upload-partial' : 'upload-ok'}`}
          role="status"
          data-upload="done"
        >
          <strong>{state.name}</strong>: {formatValue(state.outcome.records, { format: 'integer', locale })} records
          loaded
          {state.outcome.rejected > 0 && (
            <>
              ,{' '}
              <a href={state.outcome.deadLetter || deadLetterHref(widget.target ?? [])}>
                {formatValue(state.outcome.rejected, { format: 'integer', locale })} rejected
              </a>
            </>
          )}
          {state.outcome.rejected === 0 && ', none rejected'}.
        </div>
      )}
      {state.kind === 'failed' && (
        <div class="upload-result upload-failed" role="alert" data-upload="failed">
          {state.message}
        </div>
      )}
      {needsToken && (
        <form
          class="token"
          onSubmit={(e) => {
            e.preventDefault();
            setState({ kind: 'idle' });
            input.current?.click();
          }}
        >
          <input
            type="password"
            placeholder="Access token"
            autoComplete="off"
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
            aria-label="Access token"
          />
          <button type="submit" class="btn btn-primary" disabled={!token}>
            Use token
          </button>
        </form>
      )}
    </div>
  );
}
