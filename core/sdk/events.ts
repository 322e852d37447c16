import type { PipelineEvent, PipelineEvents } from './types.ts';

export class EventHub implements PipelineEvents {
  private readonly listeners = new Set<(event: PipelineEvent) => void>();
  on(listener: (event: PipelineEvent) => void) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  emit(event: PipelineEvent) {
    for (const listener of this.listeners) listener(event);
  }
}
