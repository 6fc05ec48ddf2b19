export declare const SERVER_NODE_FLAGS: string[];
export declare const AGENT_NODE_FLAGS: string[];
export declare const AGENT_ENV: Record<string, string>;
export declare const LONG_RUNNING_COMMANDS: string[];
