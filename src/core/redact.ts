/**
 * What never reaches the logs: credentials in headers, passwords, API keys, webhook secrets, and
 * the user:password part or secret query parameters of URLs (the seed API takes `pass` in the
 * query string; a webhook URL may carry basic credentials).
 */

/** pino `redact` paths for the objects this code base logs. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.pass',
  '*.secret',
  '*.webhook_secret',
  '*.api_key',
  '*.apiKey',
  'password',
  'pass',
  'secret',
  'webhook_secret',
  'apiKey',
];

const SECRET_PARAM =
  /^(pass|password|passwd|pwd|key|api_key|apikey|token|access_token|secret|sig|signature)$/i;

/** A URL with its credentials and secret-looking query parameters replaced by `***`. */
export function redactUrl(url: string): string {
  const relative = url.startsWith('/');
  let u: URL;
  try {
    // Relative request URLs (`/smsc.php?pass=…`) are parsed against a dummy origin.
    u = relative ? new URL(url, 'http://relative.invalid') : new URL(url);
  } catch {
    return url
      .replace(/[^/\s]*@/g, '***@')
      .replace(/([?&][^=&]*(?:pass|key|token|secret)[^=&]*=)[^&]*/gi, '$1***');
  }
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
  }
  for (const name of [...u.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) u.searchParams.set(name, '***');
  }
  const s = u.toString();
  return relative ? s.slice('http://relative.invalid'.length) : s;
}
