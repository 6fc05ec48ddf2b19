// The command lines an operator pastes on a new machine, as `steward enroll create` prints them
// and the dashboard's Enroll view shows them: one definition for both (browser-safe).

/** Quotes one word for a POSIX shell; plain words stay readable. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** `steward agent …` for a machine where steward is installed; `caPin` (TLS) makes the agent check the server's CA. */
export function agentCommandLine(serverUrl: string, token: string, labels: readonly string[] = [], caPin?: string | null): string {
  const words = ['steward', 'agent', '--server', serverUrl, '--enroll-token', token];
  if (caPin) words.push('--ca-sha256', caPin);
  for (const l of labels) words.push('--label', l);
  return shellJoin(words);
}

/**
 * The one-line install (docs/install.md): fetches install.sh from the control plane and runs it.
 * Over TLS with our own CA, curl pins the server's key (it cannot know the CA yet); the script
 * then checks the CA against `--ca-sha256` and trusts only it from there on.
 */
export function installCommandLine(
  serverUrl: string,
  token: string,
  labels: readonly string[] = [],
  ca?: { sha256: string | null; serverKeySha256?: string | null } | null,
): string {
  const curl = ['curl', '-fsSL'];
  if (ca?.sha256 && ca.serverKeySha256) curl.push('-k', '--pinnedpubkey', `sha256//${ca.serverKeySha256}`);
  curl.push(`${serverUrl.replace(/\/+$/, '')}/install.sh`);
  const script = ['sudo', 'sh', '-s', '--', '--token', token];
  if (ca?.sha256) script.push('--ca-sha256', ca.sha256);
  for (const l of labels) script.push('--label', l);
  return `${shellJoin(curl)} | ${shellJoin(script)}`;
}
