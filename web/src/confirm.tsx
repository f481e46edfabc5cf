/**
 * Confirmation before bulk and destructive actions: a modal <dialog> in the page's language
 * (the browser's own confirm() speaks the browser's language and cannot be styled or mirrored).
 * `confirmAction` resolves true only when the operator pressed the action's own button.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from './i18n';

export interface ConfirmRequest {
  title: string;
  body?: string;
  /** The label of the button that does it ("Disable", "Send to 200"). */
  action: string;
  danger?: boolean;
}
type Pending = ConfirmRequest & { resolve: (ok: boolean) => void };

let open: ((p: Pending) => void) | null = null;

export function confirmAction(req: ConfirmRequest): Promise<boolean> {
  return new Promise((resolve) => {
    if (open) open({ ...req, resolve });
    else resolve(false); // no host mounted: never act unconfirmed
  });
}

export function ConfirmHost() {
  const [pending, setPending] = useState<Pending | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    open = (p) =>
      setPending((prev) => {
        prev?.resolve(false); // a second request replaces an unanswered one
        return p;
      });
    return () => {
      open = null;
    };
  }, []);
  useEffect(() => {
    const d = dialog.current;
    if (pending && d && !d.open) d.showModal();
  }, [pending]);

  const finish = (ok: boolean) => {
    if (!pending) return;
    pending.resolve(ok);
    setPending(null);
    if (dialog.current?.open) dialog.current.close();
  };

  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="confirm-title"
      aria-describedby={pending?.body ? 'confirm-body' : undefined}
      onClose={() => finish(false)}
    >
      {pending && (
        <form method="dialog" onSubmit={(e) => e.preventDefault()}>
          <h2 id="confirm-title">{pending.title}</h2>
          {pending.body && <p id="confirm-body">{pending.body}</p>}
          <div class="confirm-actions">
            <button type="button" onClick={() => finish(false)} autoFocus>
              {t('common.cancel')}
            </button>
            <button type="button" class={pending.danger ? 'danger' : 'primary'} onClick={() => finish(true)}>
              {pending.action}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

/**
 * The shape of the dashboard's actions: ask first (when `ask` is given), then do it (the call and
 * the reload after it), and hand a failure to the page's error box. Resolves true when it was done,
 * false when the operator declined or it failed.
 */
export async function confirmThen(
  ask: ConfirmRequest | null,
  act: () => Promise<unknown> | void,
  onError: (err: unknown) => void,
): Promise<boolean> {
  if (ask && !(await confirmAction(ask))) return false;
  try {
    await act();
    return true;
  } catch (err) {
    onError(err);
    return false;
  }
}
