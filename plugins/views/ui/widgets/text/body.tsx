// Text card body: plain text, blank lines separate paragraphs.
import type { JSX } from 'preact';

export function TextBody({ text }: { text: string }): JSX.Element {
  return (
    <div class="text">
      {text.split(/\n\s*\n/).map((paragraph, i) => (
        <p key={i}>{paragraph.trim()}</p>
      ))}
    </div>
  );
}
