// POSIX shell quoting, shared with the dashboard (@steward/protocol/command-lines).
export { shellJoin, shellQuote } from '@steward/protocol/command-lines';
