/**
 * The usual settings of each channel type as form fields with hints; the whole driver config
 * stays editable as JSON under "Advanced". Fields and JSON are one value: a field edits the JSON,
 * and the fields show what the JSON holds.
 */
import { t } from './i18n';

type Kind = 'text' | 'number' | 'password' | 'checkbox' | { options: string[] };
interface Field {
  key: string;
  kind: Kind;
  placeholder?: string;
}

/** Mirrors the drivers' configs (driver.ts of each type in src/channels); anything else goes in the JSON. */
export const CHANNEL_FIELDS: Record<string, Field[]> = {
  simulator: [
    { key: 'deliveryDelayMs', kind: 'number', placeholder: '1000' },
    { key: 'successRate', kind: 'number', placeholder: '0.95' },
  ],
  modem: [
    { key: 'port', kind: 'text', placeholder: '/dev/ttyUSB0' },
    { key: 'pin', kind: 'password' },
    { key: 'baudRate', kind: 'number', placeholder: '115200' },
  ],
  gammu: [
    { key: 'mode', kind: { options: ['local', 'ssh'] } },
    { key: 'gammuPath', kind: 'text', placeholder: '/usr/bin/gammu' },
    { key: 'section', kind: 'number', placeholder: '0' },
  ],
  smpp: [
    { key: 'host', kind: 'text', placeholder: 'smsc.example.net' },
    { key: 'port', kind: 'number', placeholder: '2775' },
    { key: 'systemId', kind: 'text' },
    { key: 'password', kind: 'password' },
    { key: 'bindMode', kind: { options: ['transceiver', 'transmitter', 'transmitter+receiver'] } },
    { key: 'tls', kind: 'checkbox' },
  ],
};

export function ChannelFields({
  type,
  json,
  onJson,
}: {
  type: string;
  json: string;
  onJson: (json: string) => void;
}) {
  let config: Record<string, unknown> | null;
  try {
    const parsed: unknown = JSON.parse(json || '{}');
    config =
      parsed && typeof parsed === 'object' && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : null;
  } catch {
    config = null; // the JSON is being edited by hand: the fields wait until it parses
  }
  const put = (key: string, value: unknown) => {
    const next = { ...(config ?? {}) };
    if (value === '' || value === undefined) delete next[key];
    else next[key] = value;
    onJson(JSON.stringify(next, null, 2));
  };
  const fields = CHANNEL_FIELDS[type] ?? [];
  return (
    <>
      {fields.map((f) => {
        const id = `cfg-${f.key}`;
        const value = config?.[f.key];
        const label = t(`channelConfig.${type}.${f.key}`);
        if (f.kind === 'checkbox')
          return (
            <label class="inline" key={f.key}>
              <input
                type="checkbox"
                name={id}
                disabled={!config}
                checked={value === true}
                onChange={(e) => put(f.key, e.currentTarget.checked)}
              />
              {label}
            </label>
          );
        return (
          <label key={f.key}>
            {label}
            {typeof f.kind === 'object' ? (
              <select
                name={id}
                disabled={!config}
                value={typeof value === 'string' ? value : ''}
                onChange={(e) => put(f.key, e.currentTarget.value)}
              >
                <option value="">{t('channels.typeDefault')}</option>
                {f.kind.options.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : (
              <input
                name={id}
                dir="ltr"
                type={f.kind}
                disabled={!config}
                placeholder={f.placeholder}
                autoComplete={f.kind === 'password' ? 'new-password' : 'off'}
                value={value === undefined || value === null ? '' : String(value)}
                onInput={(e) => {
                  const v = e.currentTarget.value;
                  put(f.key, f.kind === 'number' && v !== '' ? Number(v) : v);
                }}
              />
            )}
          </label>
        );
      })}
      {fields.length > 0 && !config && <p class="span2 muted small">{t('channels.fieldsNeedJson')}</p>}
    </>
  );
}
