import { useEffect, useRef, useState } from 'react';
import { useSession } from '../../app-context.js';
import { streamTaskOutput } from '../../api/task-output.js';
import type { TaskOutputChunk } from '../../api/types.js';

/** Output kept in the page; older text is dropped (the store keeps what the server allows). */
const MAX_CHARS = 1_000_000;

interface Piece {
  attempt: number;
  stream: string;
  text: string;
}

/**
 * A task's output as it is written: the stored output first, then live, from the task's own
 * SSE endpoint. Consecutive chunks of one stream are merged so a chatty task makes few nodes.
 */
export function TaskOutput({ taskId, onState }: { taskId: string; onState?: () => void }) {
  const { api } = useSession();
  const [pieces, setPieces] = useState<Piece[]>([]);
  const [status, setStatus] = useState<'connecting' | 'live' | 'ended' | 'broken'>('connecting');
  const [attempt, setAttempt] = useState(0);
  const [retry, setRetry] = useState(0);
  const onStateRef = useRef(onState);
  onStateRef.current = onState;
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    setPieces([]);
    setStatus('connecting');
    let pending: TaskOutputChunk[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setPieces((list) => {
        const next = list.slice();
        for (const c of batch) {
          const last = next[next.length - 1];
          if (last && last.attempt === c.attempt && last.stream === c.stream) next[next.length - 1] = { ...last, text: last.text + c.data };
          else next.push({ attempt: c.attempt, stream: c.stream, text: c.data });
        }
        let total = next.reduce((a, p) => a + p.text.length, 0);
        while (total > MAX_CHARS && next.length > 1) total -= next.shift()!.text.length;
        return next;
      });
    };
    const stop = streamTaskOutput(api.token, taskId, {
      output(c) {
        pending.push(c);
        frame ||= requestAnimationFrame(flush);
      },
      state(s) {
        setStatus('live');
        setAttempt(s.attempt);
        onStateRef.current?.();
      },
      end() {
        setStatus('ended');
        onStateRef.current?.();
      },
      error() {
        setStatus('broken');
      },
    });
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
  }, [api, taskId, retry]);

  // Follow the end of the output unless the reader scrolled up.
  useEffect(() => {
    const el = box.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [pieces]);

  const multi = new Set(pieces.map((p) => p.attempt)).size > 1;
  return (
    <div data-testid="task-output" data-status={status}>
      <div className="result-meta">
        {status === 'connecting' && 'opening the output stream…'}
        {status === 'live' && `live · attempt ${attempt}`}
        {status === 'ended' && 'the task has ended; all its output is shown'}
        {status === 'broken' && (
          <>
            the output stream was interrupted{' '}
            <button type="button" onClick={() => setRetry((r) => r + 1)}>
              Reconnect
            </button>
          </>
        )}
      </div>
      {pieces.length === 0 ? (
        <div className="muted">{status === 'ended' ? 'no output' : 'no output yet'}</div>
      ) : (
        <pre className="output" ref={box} style={{ maxHeight: 480 }}>
          {pieces.map((p, i) => (
            <span key={i} className={p.stream === 'stderr' ? 'output-err' : undefined}>
              {multi && (i === 0 || pieces[i - 1]!.attempt !== p.attempt) ? `── attempt ${p.attempt} ──\n` : ''}
              {p.text}
            </span>
          ))}
        </pre>
      )}
    </div>
  );
}
