/** Lives in the protocol package: the agent's inbound API compares request bodies the same way. */
export { canonicalJson } from '@steward/protocol';
