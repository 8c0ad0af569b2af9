import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

// A modal on the native <dialog> (showModal: the page behind is inert, top layer, role dialog).
// Added here: Tab and Shift-Tab wrap inside the dialog (the browser would otherwise move focus to
// its own UI), focus goes back to what opened it when it closes, and a dialog that must not be
// dismissed (the one-time reveal) ignores Escape and close requests (`closedby="none"`, plus
// `cancel` prevented for browsers without it). Backdrop clicks never close a native dialog.

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

interface DialogProps {
  readonly title: string;
  readonly onClose: () => void;
  /** false: only an explicit button inside can close it. */
  readonly dismissable?: boolean;
  readonly children: ComponentChildren;
  readonly role?: 'dialog' | 'alertdialog';
  readonly describedBy?: string;
}

export function Dialog({ title, onClose, dismissable = true, children, role, describedBy }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  const dismissableRef = useRef(dismissable);
  dismissableRef.current = dismissable;

  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dismissable) dialog.setAttribute('closedby', 'none');
    dialog.showModal();
    const first = dialog.querySelector<HTMLElement>('[autofocus], [data-autofocus]');
    first?.focus();
    const onCancel = (event: Event) => {
      event.preventDefault();
      if (dismissableRef.current) closeRef.current();
    };
    // Closed by the browser without a cancel event (its close-request rules): a dismissable dialog
    // counts it as a dismissal, the reveal opens again.
    let unmounting = false;
    const onClosed = () => {
      if (unmounting) return;
      if (dismissableRef.current) closeRef.current();
      else dialog.showModal();
    };
    dialog.addEventListener('cancel', onCancel);
    dialog.addEventListener('close', onClosed);
    return () => {
      unmounting = true;
      dialog.removeEventListener('cancel', onCancel);
      dialog.removeEventListener('close', onClosed);
      if (dialog.open) dialog.close();
      // Back to the opener; if it is gone (the list re-rendered), to the page's heading.
      const target = opener?.isConnected ? opener : document.querySelector<HTMLElement>('main h1');
      target?.focus();
    };
    // Mount/unmount only: the dialog is rendered while open.
  }, []);

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && !dismissableRef.current) {
      event.preventDefault();
      return;
    }
    if (event.key !== 'Tab' || ref.current === null) return;
    const items = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
      (element) => element.offsetParent !== null || element === document.activeElement,
    );
    const first = items[0];
    const last = items[items.length - 1];
    if (first === undefined || last === undefined) return;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };

  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={titleId}
      aria-describedby={describedBy}
      role={role}
      onKeyDown={onKeyDown}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}
