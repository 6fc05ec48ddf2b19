import type { ReactNode } from 'react';

/** What a view shows while its first answer is on the way. */
export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{what}…</span>
    </div>
  );
}

/** Nothing to show, said plainly, with what to do about it. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <div className="state-hint">{children}</div>}
    </div>
  );
}

/** An error with its message and a way to try again. */
export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  const code = (error as { code?: string }).code;
  return (
    <div className="state state-error" role="alert">
      <strong>Something went wrong</strong>
      <div className="state-hint">
        {error.message}
        {code && code !== 'unreachable' ? <code className="error-code">{code}</code> : null}
      </div>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Renders the loading, error or empty state of a resource, or `children(data)`. */
export function Resolved<T>({
  data,
  error,
  loading,
  reload,
  empty,
  isEmpty,
  children,
}: {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload?: () => void;
  empty?: ReactNode;
  isEmpty?: (d: T) => boolean;
  children: (d: T) => ReactNode;
}) {
  if (loading) return <Loading />;
  if (data === undefined) return <ErrorBox error={error ?? new Error('no data')} retry={reload} />;
  return (
    <>
      {error && <div className="banner banner-warn">Showing earlier data: {error.message}</div>}
      {isEmpty?.(data) && empty ? empty : children(data)}
    </>
  );
}
