/**
 * The one place where text on its way to a user (diagnostics, CLI output, `--json`, reports, logs)
 * loses every password this product has seen, and where values quoted in messages are shortened.
 */

/** Longest piece of a value a message quotes (a 10 MB `poolSize` string must not be echoed whole). */
export const ECHO_LIMIT = 100;

/** Longest message we pass on: anything longer was built from an untrusted value. */
export const MESSAGE_LIMIT = 1000;

/**
 * Secrets are scrubbed from this length on: a 1-3 character password would blank out ordinary
 * words ("a", "on") in every message, and is no secret to anyone who tries. Such passwords are
 * still never quoted: no message echoes a password value.
 */
const MIN_SCRUBBED_SECRET = 4;

/** Text as a message may quote it: JSON-quoted and cut to ECHO_LIMIT characters. */
export function echoValue(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const cut = text.length > ECHO_LIMIT ? `${text.slice(0, ECHO_LIMIT)}…` : text;
  const shown = typeof value === 'string' ? JSON.stringify(cut) : cut;
  return text.length > ECHO_LIMIT ? `${shown} (${text.length} characters)` : shown;
}

/** Removes a connection string's password, and one given password, from text. */
export function redact(text: string, password?: string): string {
  let out = text.replace(/(postgres(?:ql)?:\/\/[^:/\s]*:)[^@\s]*@/gi, '$1***@');
  if (password && password.length >= 1) out = out.split(password).join('***');
  return out;
}

/** Removes known secrets; cuts the result to `limit` characters (a hover passes Infinity). */
export type Scrub = (text: string, limit?: number) => string;

/** A scrubber for a fixed set of secrets: longest first, so a password containing another goes whole. */
export function scrubberOf(secrets: Iterable<string | undefined>): Scrub {
  const known = [
    ...new Set(
      [...secrets].filter((s): s is string => typeof s === 'string' && s.length >= MIN_SCRUBBED_SECRET),
    ),
  ];
  known.sort((a, b) => b.length - a.length);
  return (text, limit = MESSAGE_LIMIT) => {
    const scrubbed = known.reduce((out, secret) => out.split(secret).join('***'), redact(text));
    return scrubbed.length > limit ? `${scrubbed.slice(0, limit)}…` : scrubbed;
  };
}

/** Names of environment variables whose values are passwords (libpq's, the origin's, and `${VAR}`s). */
function isSecretVariable(name: string): boolean {
  return /PASS(?:WORD|WD)?(?:_|$)|SECRET|TOKEN/i.test(name);
}

/**
 * Every secret a config can bring in: the resolved passwords (config, `${VAR}`, environment,
 * `.env`, pgpass), the password values as written, and the values of the environment's
 * password-like variables (the process environment merged with `.env`).
 */
export function collectSecrets(parts: {
  passwords: Iterable<string | undefined>;
  written: Iterable<string>;
  environment: Record<string, string | undefined>;
  /** Names of the variables a password key refers to through `${VAR}`: scrubbed whatever their name. */
  referenced: Iterable<string>;
}): string[] {
  const out = [...parts.passwords].filter((p): p is string => !!p);
  for (const text of parts.written) if (text.trim() !== '') out.push(text, text.trim());
  for (const name of parts.referenced) {
    const value = parts.environment[name];
    if (value) out.push(value);
  }
  for (const [name, value] of Object.entries(parts.environment)) {
    if (value && isSecretVariable(name)) out.push(value);
  }
  return out;
}

/**
 * Where a config writes a `password` value: from just after the key's colon to the end of that
 * line, in block (`password: x`) and flow (`{password: x}`) style, quoted keys included. The YAML
 * parser cannot always say what the value was (an unquoted `|x` is a broken block scalar), so
 * messages about these spans are not allowed to quote them at all.
 */
export function passwordValueSpans(text: string): { start: number; end: number; text: string }[] {
  const spans: { start: number; end: number; text: string }[] = [];
  const key = /(?:^|[\s{,])(["']?)password\1[ \t]*:/gim;
  for (let match = key.exec(text); match; match = key.exec(text)) {
    const start = match.index + match[0].length;
    const lineEnd = text.indexOf('\n', start);
    const end = lineEnd < 0 ? text.length : lineEnd;
    spans.push({ start, end, text: text.slice(start, end) });
  }
  return spans;
}

/** The written text of each password value, with and without a leading YAML indicator (`|`, `>`, quotes). */
export function writtenPasswords(text: string): string[] {
  const out: string[] = [];
  for (const span of passwordValueSpans(text)) {
    const value = span.text.replace(/\s+#.*$/, '').trim();
    // `${VAR}` names a variable, not a secret: its value is scrubbed once resolved.
    if (value === '' || value.includes('${')) continue;
    out.push(value);
    const bare = value
      .replace(/^[|>][-+0-9]*/, '')
      .replace(/^(["'])(.*)\1$/, '$2')
      .replace(/^["'`@%]/, '');
    if (bare !== '' && bare !== value) out.push(bare);
  }
  return out;
}

/**
 * A command's whole output, scrubbed without being cut: the scrubber shortens long text (it is
 * made for messages), so JSON is scrubbed string by string and text line by line.
 */
export function scrubbedOutput(scrub: (text: string) => string, output: string | object): string {
  // Not .map(scrub): map's index would become scrub's length limit.
  if (typeof output === 'string')
    return output
      .split('\n')
      .map((line) => scrub(line))
      .join('\n');
  return JSON.stringify(output, (_key, value) => (typeof value === 'string' ? scrub(value) : value));
}
