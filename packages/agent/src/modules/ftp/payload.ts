// The payload schemas live in @steward/protocol/modules: the control plane validates and redacts with the same ones.
export { FtpUserRemovePayload, FtpUserSpec, HOME, USERNAME, Username } from '@steward/protocol/modules';
