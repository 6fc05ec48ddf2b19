import { useCallback, useEffect, useRef, useState } from 'react';
import { useSession } from '../../app-context.js';
import { ApiError } from '../../api/client.js';
import type { Command } from '../../api/types.js';
import { Empty, ErrorBox, Loading } from '../../components/states.js';
import { bytes, time } from '../../format.js';

interface Entry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  mode: string;
  mtime: number;
}

type Listing = { ok: true; path: string; entries: Entry[]; truncated: boolean } | { ok: false; message: string; roots: string[] };

const WAIT_SECONDS = 15;

/** Browses the node's files with `fs.list` commands (only inside the agent's configured roots). */
export function FileBrowser({ nodeId, online }: { nodeId: string; online: boolean }) {
  const { api } = useSession();
  const [path, setPath] = useState('/');
  const [listing, setListing] = useState<Listing | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(false);
  const opened = useRef(false);

  const list = useCallback(
    async (p: string) => {
      setLoading(true);
      setError(null);
      try {
        const submitted = await api.submit({ node: nodeId, type: 'fs.list', payload: { path: p, limit: 2000 }, timeoutMs: 10_000 });
        const c: Command = await api.command(submitted.id, WAIT_SECONDS);
        if (c.state === 'succeeded') {
          const r = c.result as { path: string; entries: Entry[]; truncated: boolean };
          setListing({ ok: true, path: r.path, entries: r.entries, truncated: r.truncated });
          setPath(r.path);
        } else if (c.error) {
          const roots = (c.error.details as { roots?: string[] } | undefined)?.roots ?? [];
          setListing({ ok: false, message: c.error.message, roots });
        } else {
          setError(new Error(`fs.list is still ${c.state} after ${WAIT_SECONDS} s`));
        }
      } catch (e) {
        setError(e as ApiError);
      } finally {
        setLoading(false);
      }
    },
    [api, nodeId],
  );

  // A '/' listing outside the roots answers with the roots: open the first one straight away.
  useEffect(() => {
    if (listing && !listing.ok && listing.roots.length > 0 && path === '/' && !opened.current) {
      opened.current = true;
      void list(listing.roots[0]!);
    }
  }, [listing, path, list]);

  // Nothing is listed until asked: each listing is a command recorded on the node.
  if (!listing && !loading && !error) {
    return online ? (
      <div className="files">
        <button type="button" onClick={() => void list('/')}>
          Browse files
        </button>
        <span className="hint"> Lists directories with fs.list, inside the roots the agent allows.</span>
      </div>
    ) : (
      <Empty title="The node is offline">Files can be browsed while it is connected.</Empty>
    );
  }
  const parent = path === '/' ? null : path.replace(/\/[^/]+\/?$/, '') || '/';
  const join = (name: string) => (path.endsWith('/') ? path + name : `${path}/${name}`);
  return (
    <div className="files" data-testid="file-browser">
      <div className="files-bar">
        <code>{path}</code>
        {parent && (
          <button type="button" onClick={() => void list(parent)} disabled={loading}>
            Up
          </button>
        )}
        <button type="button" onClick={() => void list(path)} disabled={loading}>
          Refresh
        </button>
      </div>
      {loading && <Loading what="Listing" />}
      {error && <ErrorBox error={error} retry={() => void list(path)} />}
      {!loading && listing && !listing.ok && (
        <div className="state state-empty">
          <strong>{listing.message}</strong>
          {listing.roots.length > 0 && (
            <div className="state-hint">
              Browse a root:{' '}
              {listing.roots.map((r) => (
                <button type="button" className="link" key={r} onClick={() => void list(r)}>
                  {r}
                </button>
              ))}
            </div>
          )}
        </div>
      )}
      {!loading && listing?.ok && (
        listing.entries.length === 0 ? (
          <Empty title="This directory is empty" />
        ) : (
          <table className="simple">
            <thead>
              <tr>
                <th>Name</th>
                <th>Size</th>
                <th>Mode</th>
                <th>Modified</th>
              </tr>
            </thead>
            <tbody>
              {listing.entries.map((e) => (
                <tr key={e.name}>
                  <td>
                    {e.type === 'directory' ? (
                      <button type="button" className="link" onClick={() => void list(join(e.name))}>
                        {e.name}/
                      </button>
                    ) : (
                      <span>
                        {e.name}
                        {e.type === 'symlink' ? ' →' : ''}
                      </span>
                    )}
                  </td>
                  <td>{e.type === 'file' ? bytes(e.size) : ''}</td>
                  <td>
                    <code>{e.mode}</code>
                  </td>
                  <td>{time(e.mtime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      )}
      {listing?.ok && listing.truncated && <div className="hint">Only the first 2,000 entries are shown.</div>}
    </div>
  );
}
