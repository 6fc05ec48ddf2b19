/**
 * A control plane's /metrics as the tests read it: one series' value, or a metric summed over
 * its labels. Every e2e test that checks a counter goes through here, so the parsing is one.
 */
export interface MetricsText {
  /** The value of one exact series (`name` or `name{labels}`), 0 when it is absent. */
  value(series: string): number;
  /** A metric summed over all its label sets, 0 when it has none. */
  sum(name: string): number;
  readonly text: string;
}

export function parseMetrics(text: string): MetricsText {
  const lines = text.split('\n');
  return {
    text,
    value(series) {
      const line = lines.find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    },
    sum(name) {
      return lines.filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
    },
  };
}

/** Fetches and parses `server`'s /metrics with its admin token (or `token`). */
export async function readMetrics(server: { url: string; token: string }, token = server.token): Promise<MetricsText> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}
