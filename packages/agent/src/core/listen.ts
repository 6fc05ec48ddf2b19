/** `HOST:PORT` split into host (IPv6 brackets removed) and port. */
export function parseListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(listen.slice(at + 1)) };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
