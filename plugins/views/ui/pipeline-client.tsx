// Pipeline page entry (bundled by scripts/build-client.mjs): hydrates the server-rendered graph for live figures
// and the step panel. No chart code.
import { hydrate } from 'preact';
import { PipelinePage, type PipelineModel } from './pipeline.tsx';

const data = document.getElementById('view-model');
const root = document.getElementById('app');
if (data && root) hydrate(<PipelinePage model={JSON.parse(data.textContent ?? '{}') as PipelineModel} />, root);
