// Types of build-state.mjs for the TypeScript callers (the tests, the soak, the bench).
export declare function buildIsFresh(outdir?: string, root?: string): boolean;
export declare function ensureFreshBuild(): Promise<boolean>;
