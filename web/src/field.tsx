/**
 * The labelled fields the dashboard's forms are made of: a text input, a new password, a user.
 * Labels are flex columns (styles.css): a label's text and its bracketed hint are wrapped in one
 * span so they stay on one line above the input.
 */
import type { ComponentChildren, JSX } from 'preact';

type InputAttributes = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'class' | 'label' | 'children'>;

/**
 * `label` (already translated), `hint` in brackets after it ("optional", a format), the input with
 * every other attribute passed on, and `children` under the input (a hint line, a datalist).
 * `onValue` gets the text as typed; a page with a handler of its own passes `onInput` instead.
 */
export function TextField({
  label,
  hint,
  class: cls,
  onValue,
  children,
  ...input
}: InputAttributes & {
  label: string;
  hint?: string | undefined;
  class?: string;
  onValue?: (value: string) => void;
  children?: ComponentChildren;
}) {
  return (
    <label class={cls}>
      {hint === undefined ? (
        label
      ) : (
        <span>
          {label} <span class="muted small">({hint})</span>
        </span>
      )}
      <input {...input} onInput={onValue ? (e) => onValue(e.currentTarget.value) : input.onInput} />
      {children}
    </label>
  );
}

/** A new password (an account's first, or one set for it): at least 8 characters, never autofilled. */
export function NewPasswordField(props: Omit<Parameters<typeof TextField>[0], 'type' | 'autoComplete'>) {
  return <TextField type="password" autoComplete="new-password" required minLength={8} {...props} />;
}

/**
 * A labelled choice of one user, by login (admins: whose balance, channel or figures). `anyone`
 * labels a first, empty choice (all users, shared by all) where there is one.
 */
export function UserSelect({
  label,
  name,
  value,
  users,
  anyone,
  onValue,
}: {
  label: string;
  name: string;
  value: string;
  users: { id: string; login: string }[];
  anyone?: string;
  onValue: (id: string) => void;
}) {
  return (
    <label>
      {label}
      <select name={name} value={value} onChange={(e) => onValue(e.currentTarget.value)}>
        {anyone !== undefined && <option value="">{anyone}</option>}
        {users.map((u) => (
          <option key={u.id} value={u.id}>
            {u.login}
          </option>
        ))}
      </select>
    </label>
  );
}
