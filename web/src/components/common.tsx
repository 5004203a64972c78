import { useEffect, useState, type ReactNode } from 'react';
import type { Trigger } from '../api/wire';

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`status status-${status}`} data-status={status}>
      <span className="status-dot" aria-hidden="true" />
      {status}
    </span>
  );
}

export function ErrorBanner({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <div className="error-banner" role="alert">
      {error}
    </div>
  );
}

export function Labels({ labels }: { labels: string[] }) {
  if (!labels.length) return <span className="muted">none</span>;
  return (
    <span className="labels">
      {labels.map((label) => (
        <span key={label} className="label-chip">
          {label}
        </span>
      ))}
    </span>
  );
}

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      <div className="page-actions">{children}</div>
    </div>
  );
}

export function TriggerText({ trigger }: { trigger: Trigger | null }) {
  if (!trigger) return <span className="muted">—</span>;
  return (
    <span title={trigger.event ? `event ${trigger.event}` : undefined}>
      {trigger.kind}
      {trigger.actor ? <span className="muted"> · {trigger.actor}</span> : null}
    </span>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

type ConfirmButtonProps = { question: string; confirmLabel: string; onConfirm: () => void; disabled?: boolean; className?: string; children: ReactNode };

/** A button for an action that cannot be undone: the first click asks inline, the second acts. */
export function ConfirmButton({ question, confirmLabel, onConfirm, disabled = false, className, children }: ConfirmButtonProps) {
  const [asking, setAsking] = useState(false);
  if (!asking || disabled) {
    return (
      <button type="button" className={className} disabled={disabled} onClick={() => setAsking(true)}>
        {children}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        className="danger"
        autoFocus
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        No
      </button>
    </span>
  );
}

/** Copies `text` to the clipboard; outside a secure context (plain http to a remote host) through a selected textarea. */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  // Inside an open modal dialog, only the dialog's content can take the focus a copy needs.
  (document.querySelector('dialog[open]') ?? document.body).appendChild(area);
  area.select();
  try {
    if (!document.execCommand('copy')) throw new Error('The browser refused to copy.');
  } finally {
    area.remove();
  }
}

/** A small button copying `text`, saying so for a moment afterwards. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <button
      type="button"
      className="link-button copy-button"
      aria-label={label}
      title={label}
      data-state={state}
      onClick={() => copyText(text).then(() => setState('copied'), () => setState('failed'))}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}
    </button>
  );
}
