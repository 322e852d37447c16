// Small inline SVG icons (stroke = currentColor).
import type { JSX } from 'preact';

function Icon({ d, size = 16, title }: { d: string; size?: number; title?: string }): JSX.Element {
  return (
    <svg
      class="icon"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden={title ? undefined : 'true'}
      role={title ? 'img' : undefined}
    >
      {title && <title>{title}</title>}
      <path d={d} />
    </svg>
  );
}

export const MenuIcon = () => <Icon d="M4 6h16M4 12h16M4 18h16" size={18} />;
export const RefreshIcon = () => <Icon d="M21 12a9 9 0 1 1-2.64-6.36M21 3v6h-6" />;
export const SunIcon = () => (
  <Icon d="M12 3v2M12 19v2M4.22 4.22l1.42 1.42M18.36 18.36l1.42 1.42M3 12h2M19 12h2M4.22 19.78l1.42-1.42M18.36 5.64l1.42-1.42M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8z" />
);
export const MoonIcon = () => <Icon d="M21 12.79A9 9 0 1 1 11.21 3 7 7 0 0 0 21 12.79z" />;
export const DownloadIcon = () => <Icon d="M12 3v12M7 10l5 5 5-5M5 21h14" size={14} />;
export const UploadIcon = ({ size = 22 }: { size?: number }) => <Icon d="M12 21V9M7 14l5-5 5 5M5 3h14" size={size} />;
export const ClockIcon = () => <Icon d="M12 7v5l3 2M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z" size={13} />;
export const AlertIcon = () => (
  <Icon d="M12 9v4M12 17h.01M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z" size={13} />
);
export const StepIcon = () => <Icon d="M4 6h16M4 12h10M4 18h6" size={13} />;
export const SearchIcon = () => <Icon d="m21 21-4.3-4.3M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14z" size={14} />;
export const InboxIcon = () => (
  <Icon
    d="M22 12h-6l-2 3h-4l-2-3H2M5.45 5.11 2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.45-6.89A2 2 0 0 0 16.76 4H7.24a2 2 0 0 0-1.79 1.11z"
    size={28}
  />
);
export const FilterIcon = () => <Icon d="M3 4h18l-7 8v6l-4 2v-8L3 4z" size={28} />;
export const FilterOffIcon = () => <Icon d="M3 4h18l-7 8v6l-4 2v-8L3 4zM3 21 21 3" size={12} />;
export const BanIcon = () => <Icon d="M4.93 4.93l14.14 14.14M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20z" size={28} />;
export const ErrorIcon = () => <Icon d="M12 8v4M12 16h.01M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20z" size={18} />;
export const ChevronIcon = ({ dir = 'down' }: { dir?: 'down' | 'left' | 'right' | 'up' }) => (
  <Icon
    d={{ down: 'm6 9 6 6 6-6', up: 'm18 15-6-6-6 6', left: 'm15 18-6-6 6-6', right: 'm9 18 6-6-6-6' }[dir]}
    size={14}
  />
);
