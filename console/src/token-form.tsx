import { useState } from 'preact/hooks';
import { checkAllowlist } from './allowlist';
import type { CreatedToken, Policy, TokenDetail, TokenType } from './api';
import { useApp } from './context';
import { Dialog } from './dialog';
import { draftOf, type LimitsCeiling, LimitsFields, parseLimits, sameLimits } from './limits';
import { humanMessage } from './messages';
import { fieldErrorsOf } from './ui';

// The create dialog and the edit form: the same fields, laid out from GET /policy (expiry presets,
// token types, the scope catalogue as an area × action grid, the allowlist rule of the type). A
// server validation error is shown at the field its path names.

type FieldErrors = Record<string, string>;

function FieldError({ id, message }: { id: string; message: string | undefined }) {
  return message === undefined ? null : (
    <p id={id} class="field-error">
      {message}
    </p>
  );
}

function ScopeGrid({
  policy,
  type,
  value,
  onChange,
  error,
}: {
  policy: Policy;
  type: TokenType | undefined;
  value: string[];
  onChange: (scopes: string[]) => void;
  error: string | undefined;
}) {
  const areas = [...new Set(policy.scopeCatalogue.map((scope) => scope.split(':')[0] ?? scope))];
  const actions = [...new Set(policy.scopeCatalogue.map((scope) => scope.split(':')[1] ?? ''))];
  const toggle = (scope: string, on: boolean) =>
    onChange(on ? [...value, scope] : value.filter((candidate) => candidate !== scope));
  return (
    <fieldset aria-describedby={error === undefined ? 'scopes-help' : 'scopes-help scopes-error'}>
      <legend>Scopes</legend>
      <p id="scopes-help" class="muted">
        Each permission stands alone: write does not include read. Greyed boxes are not allowed for this type.
      </p>
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Area</th>
            {actions.map((action) => (
              <th scope="col" key={action}>
                {action}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {areas.map((area) => (
            <tr key={area}>
              <th scope="row">{area}</th>
              {actions.map((action) => {
                const scope = `${area}:${action}`;
                const known = policy.scopeCatalogue.includes(scope);
                const allowed = known && (type === undefined || type.allowedScopes.includes(scope));
                return (
                  <td key={action}>
                    {known && (
                      <input
                        type="checkbox"
                        aria-label={scope}
                        checked={value.includes(scope)}
                        disabled={!allowed}
                        onChange={(e) => toggle(scope, e.currentTarget.checked)}
                      />
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <FieldError id="scopes-error" message={error} />
    </fieldset>
  );
}

function AllowlistField({
  value,
  onInput,
  type,
  error,
}: {
  value: string;
  onInput: (text: string) => void;
  type: TokenType | undefined;
  error: string | undefined;
}) {
  const local = checkAllowlist(value, type?.minAllowlistPrefix ?? null);
  const required = type?.requireIpAllowlist === true;
  const message =
    local.problems.length > 0
      ? local.problems.join('; ')
      : required && local.entries.length === 0 && value !== ''
        ? `The ${type?.name} type requires at least one address.`
        : error;
  return (
    <div class="field">
      <label for="field-allowedIps">
        IP allowlist{required ? ' (required for this type)' : ' (optional)'}
      </label>
      <textarea
        id="field-allowedIps"
        rows={3}
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        aria-invalid={message !== undefined}
        aria-describedby={message === undefined ? 'allowedIps-help' : 'allowedIps-help allowedIps-error'}
        spellcheck={false}
      />
      <p id="allowedIps-help" class="muted">
        One address or CIDR per line, IPv4 or IPv6 (10.0.0.0/24, 2001:db8::/48). Empty: any address.
      </p>
      <FieldError id="allowedIps-error" message={message} />
    </div>
  );
}

function TextField(props: {
  name: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  error: string | undefined;
  maxLength: number;
  multiline?: boolean;
  required?: boolean;
}) {
  const id = `field-${props.name}`;
  const common = {
    id,
    value: props.value,
    maxLength: props.maxLength,
    required: props.required,
    'aria-invalid': props.error !== undefined,
    'aria-describedby': props.error === undefined ? undefined : `${props.name}-error`,
    onInput: (e: Event) => props.onInput((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.multiline ? <textarea rows={2} {...common} /> : <input type="text" {...common} />}
      <FieldError id={`${props.name}-error`} message={props.error} />
    </div>
  );
}

type Expiry = { kind: 'days'; days: number } | { kind: 'custom'; date: string } | { kind: 'never' };

function expiryBody(expiry: Expiry): { expiresInDays?: number; expiresAt?: string | null } {
  if (expiry.kind === 'days') return { expiresInDays: expiry.days };
  if (expiry.kind === 'never') return { expiresAt: null };
  // The end of the chosen day, in the user's time zone.
  return { expiresAt: new Date(`${expiry.date}T23:59:00`).toISOString() };
}

function ExpiryField({
  policy,
  value,
  onChange,
  error,
}: {
  policy: Policy;
  value: Expiry;
  onChange: (expiry: Expiry) => void;
  error: string | undefined;
}) {
  const selected = value.kind === 'days' ? `d${value.days}` : value.kind;
  const today = new Date().toISOString().slice(0, 10);
  const latest = new Date(Date.now() + policy.maxLifetimeDays * 86_400_000).toISOString().slice(0, 10);
  return (
    <div class="field">
      <label for="field-expiry">Expires</label>
      <select
        id="field-expiry"
        value={selected}
        aria-describedby={error === undefined ? undefined : 'expiresAt-error'}
        onChange={(e) => {
          const choice = e.currentTarget.value;
          if (choice === 'never') onChange({ kind: 'never' });
          else if (choice === 'custom') onChange({ kind: 'custom', date: latest });
          else onChange({ kind: 'days', days: Number(choice.slice(1)) });
        }}
      >
        {policy.expiryPresetsDays.map((days) => (
          <option key={days} value={`d${days}`}>
            in {days} days
          </option>
        ))}
        <option value="custom">on a date…</option>
        {policy.allowNoExpiry && <option value="never">never (no expiry)</option>}
      </select>
      {value.kind === 'custom' && (
        <>
          <label for="field-expiry-date">
            Expiry date (at most {policy.maxLifetimeDays} days from today)
          </label>
          <input
            id="field-expiry-date"
            type="date"
            min={today}
            max={latest}
            value={value.date}
            onInput={(e) => onChange({ kind: 'custom', date: e.currentTarget.value })}
          />
        </>
      )}
      <FieldError id="expiresAt-error" message={error} />
    </div>
  );
}

const linesOf = (list: readonly string[]) => list.join('\n');

export function CreateDialog({
  onCreated,
  onClose,
}: {
  onCreated: (created: CreatedToken) => void;
  onClose: () => void;
}) {
  const { api, policy } = useApp();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [typeName, setTypeName] = useState(policy.defaultTokenType);
  const [scopes, setScopes] = useState<string[]>([]);
  const [allowlist, setAllowlist] = useState('');
  const defaultDays = policy.expiryPresetsDays.includes(policy.defaultExpiryDays)
    ? policy.defaultExpiryDays
    : (policy.expiryPresetsDays[0] ?? policy.defaultExpiryDays);
  const [expiry, setExpiry] = useState<Expiry>({ kind: 'days', days: defaultDays });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const type = policy.tokenTypes.find((candidate) => candidate.name === typeName);
  const [lowerLimits, setLowerLimits] = useState(false);
  const [limitsDraft, setLimitsDraft] = useState(type && draftOf(type.rateLimit, type.quota));
  const typeCeiling: LimitsCeiling | undefined = type && { rateLimit: type.rateLimit, quota: type.quota };
  const parsedLimits =
    lowerLimits && limitsDraft !== undefined && typeCeiling !== undefined
      ? parseLimits(limitsDraft, typeCeiling)
      : undefined;

  const submit = async (event: Event) => {
    event.preventDefault();
    const local = checkAllowlist(allowlist, type?.minAllowlistPrefix ?? null);
    const found: FieldErrors = {};
    if (name.trim() === '') found.name = 'Give the token a name.';
    if (scopes.length === 0) found.scopes = 'Choose at least one scope.';
    if (local.problems.length > 0) found.allowedIps = local.problems.join('; ');
    else if (type?.requireIpAllowlist && local.entries.length === 0) {
      found.allowedIps = `The ${type.name} type requires at least one address.`;
    }
    if (parsedLimits !== undefined && 'problems' in parsedLimits)
      found.limits = parsedLimits.problems.join(' ');
    setErrors(found);
    setFormError(undefined);
    if (Object.keys(found).length > 0) return;
    // Limits equal to the type's are the type's: nothing to send.
    const limits =
      parsedLimits !== undefined && 'limits' in parsedLimits && typeCeiling !== undefined
        ? sameLimits(parsedLimits.limits, typeCeiling)
          ? undefined
          : parsedLimits.limits
        : undefined;
    setBusy(true);
    try {
      const created = await api.createToken({
        name: name.trim(),
        description,
        scopes,
        type: typeName,
        allowedIps: local.entries,
        ...expiryBody(expiry),
        ...(limits === undefined ? {} : { limits }),
      });
      onCreated(created);
    } catch (error) {
      const fields = fieldErrorsOf(error);
      setErrors(fields);
      const unplaced = Object.keys(fields).filter(
        (field) =>
          !['name', 'description', 'scopes', 'allowedIps', 'expiresAt', 'expiresInDays', 'limits'].includes(
            field,
          ),
      );
      if (Object.keys(fields).length === 0 || unplaced.length > 0) {
        setFormError(
          unplaced.length > 0 ? unplaced.map((field) => fields[field]).join('; ') : humanMessage(error),
        );
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Create a token" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <TextField
          name="name"
          label="Name"
          value={name}
          onInput={setName}
          error={errors.name}
          maxLength={policy.limits.maxNameLength}
          required
        />
        <TextField
          name="description"
          label="Description (what it is for)"
          value={description}
          onInput={setDescription}
          error={errors.description}
          maxLength={policy.limits.maxDescriptionLength}
          multiline
        />
        <ExpiryField
          policy={policy}
          value={expiry}
          onChange={setExpiry}
          error={errors.expiresAt ?? errors.expiresInDays}
        />
        <fieldset>
          <legend>Type</legend>
          {policy.tokenTypes.map((candidate) => (
            <label class="check" key={candidate.name}>
              <input
                type="radio"
                name="type"
                value={candidate.name}
                checked={candidate.name === typeName}
                onChange={() => {
                  setTypeName(candidate.name);
                  setScopes(scopes.filter((scope) => candidate.allowedScopes.includes(scope)));
                  setLimitsDraft(draftOf(candidate.rateLimit, candidate.quota));
                }}
              />
              <span>
                <strong>{candidate.name}</strong> — {candidate.description}
                {candidate.requireIpAllowlist ? ' (needs an IP allowlist)' : ''}
              </span>
            </label>
          ))}
          <FieldError id="type-error" message={errors.type} />
        </fieldset>
        <ScopeGrid policy={policy} type={type} value={scopes} onChange={setScopes} error={errors.scopes} />
        <AllowlistField value={allowlist} onInput={setAllowlist} type={type} error={errors.allowedIps} />
        <label class="check">
          <input
            type="checkbox"
            checked={lowerLimits}
            onChange={(e) => setLowerLimits(e.currentTarget.checked)}
          />
          <span>Give this token a lower rate limit or quota than its type</span>
        </label>
        {lowerLimits && limitsDraft !== undefined && typeCeiling !== undefined && (
          <LimitsFields
            draft={limitsDraft}
            onChange={setLimitsDraft}
            ceiling={typeCeiling}
            error={errors.limits}
            help={`At most the ${typeName} type's limits, shown here to start from.`}
          />
        )}
        {formError !== undefined && (
          <p class="notice error" role="alert">
            {formError}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function EditForm({ token, onSaved }: { token: TokenDetail; onSaved: (token: TokenDetail) => void }) {
  const { api, policy, session } = useApp();
  const type = policy.tokenTypes.find((candidate) => candidate.name === token.type);
  // An admin may go up to the type's limits; an owner only down from what the token has now.
  const current = token.limits;
  const limitsCeiling: LimitsCeiling | undefined =
    current === null || type === undefined
      ? undefined
      : session.role === 'admin'
        ? { rateLimit: type.rateLimit, quota: type.quota }
        : {
            rateLimit: current.rateLimit,
            quota: current.quota ?? null,
            quotaRequired: current.quota !== null,
          };
  const [limitsDraft, setLimitsDraft] = useState(current && draftOf(current.rateLimit, current.quota));
  const [name, setName] = useState(token.name);
  const [description, setDescription] = useState(token.description);
  const [scopes, setScopes] = useState<string[]>(token.scopes);
  const [allowlist, setAllowlist] = useState(linesOf(token.allowedIps));
  const [expiryDate, setExpiryDate] = useState(token.expiresAt?.slice(0, 10) ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const local = checkAllowlist(allowlist, type?.minAllowlistPrefix ?? null);
    const found: FieldErrors = {};
    if (name.trim() === '') found.name = 'Give the token a name.';
    if (scopes.length === 0) found.scopes = 'Choose at least one scope.';
    if (local.problems.length > 0) found.allowedIps = local.problems.join('; ');
    const parsedLimits =
      limitsDraft === null || limitsCeiling === undefined
        ? undefined
        : parseLimits(limitsDraft, limitsCeiling);
    if (parsedLimits !== undefined && 'problems' in parsedLimits)
      found.limits = parsedLimits.problems.join(' ');
    setErrors(found);
    setResult(undefined);
    if (Object.keys(found).length > 0) return;
    const changes: Record<string, unknown> = {};
    if (parsedLimits !== undefined && 'limits' in parsedLimits && current !== null) {
      const before = { rateLimit: current.rateLimit, quota: current.quota };
      if (!sameLimits(parsedLimits.limits, before)) changes.limits = parsedLimits.limits;
    }
    if (name.trim() !== token.name) changes.name = name.trim();
    if (description !== token.description) changes.description = description;
    if (linesOf(scopes) !== linesOf(token.scopes)) changes.scopes = scopes;
    if (linesOf(local.entries) !== linesOf(token.allowedIps)) changes.allowedIps = local.entries;
    if (expiryDate !== (token.expiresAt?.slice(0, 10) ?? '')) {
      changes.expiresAt = expiryDate === '' ? null : new Date(`${expiryDate}T23:59:00`).toISOString();
    }
    if (Object.keys(changes).length === 0) {
      setResult({ ok: true, text: 'Nothing to save: no field changed.' });
      return;
    }
    setBusy(true);
    try {
      const saved = await api.updateToken(token.id, changes);
      setResult({ ok: true, text: 'Saved. The gateway follows within the revocation window.' });
      onSaved(saved);
    } catch (error) {
      const fields = fieldErrorsOf(error);
      setErrors(fields);
      setResult({
        ok: false,
        text: Object.keys(fields).length > 0 ? 'Some fields need a correction.' : humanMessage(error),
      });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-labelledby="edit-heading">
      <h2 id="edit-heading">Edit</h2>
      <TextField
        name="name"
        label="Name"
        value={name}
        onInput={setName}
        error={errors.name}
        maxLength={policy.limits.maxNameLength}
      />
      <TextField
        name="description"
        label="Description"
        value={description}
        onInput={setDescription}
        error={errors.description}
        maxLength={policy.limits.maxDescriptionLength}
        multiline
      />
      <ScopeGrid policy={policy} type={type} value={scopes} onChange={setScopes} error={errors.scopes} />
      <AllowlistField value={allowlist} onInput={setAllowlist} type={type} error={errors.allowedIps} />
      <div class="field">
        <label for="field-edit-expiry">
          Expiry date{policy.allowNoExpiry ? ' (empty: never expires)' : ''}
        </label>
        <input
          id="field-edit-expiry"
          type="date"
          value={expiryDate}
          required={!policy.allowNoExpiry}
          onInput={(e) => setExpiryDate(e.currentTarget.value)}
          aria-describedby={errors.expiresAt === undefined ? undefined : 'expiresAt-edit-error'}
        />
        <FieldError id="expiresAt-edit-error" message={errors.expiresAt} />
      </div>
      {limitsDraft !== null && limitsCeiling !== undefined && (
        <LimitsFields
          draft={limitsDraft}
          onChange={setLimitsDraft}
          ceiling={limitsCeiling}
          error={errors.limits}
          help={
            session.role === 'admin'
              ? `Up to the ${token.type} type's limits.`
              : 'You can lower these; only an admin can raise them.'
          }
        />
      )}
      {result !== undefined && (
        <p class={result.ok ? 'notice ok' : 'notice error'} role={result.ok ? 'status' : 'alert'}>
          {result.text}
        </p>
      )}
      <div class="actions">
        {/* aria-disabled, not disabled: a disabled button would drop the keyboard focus. */}
        <button type="submit" class="primary" aria-disabled={busy}>
          {busy ? 'Saving…' : 'Save changes'}
        </button>
      </div>
    </form>
  );
}
