import { AgentError } from '../core/errors.js';

/**
 * A plugin that cannot be used as it is (a bad manifest, an import or start that threw, a default
 * export that is not a module, a name taken by a built-in module) is refused with the shared
 * `plugin_invalid` error of the protocol; the agent stays up, the plugin unloaded until its folder changes.
 */
export { PluginInvalidError } from '@steward/protocol';

/** A plugin the pushed config names could not be fetched or unpacked; nothing was installed. */
export class PluginInstallError extends AgentError<'plugin_install_failed'> {}
