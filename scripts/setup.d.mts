export declare const TEMPORAL_CLI_VERSION: string;
export declare function ensureTemporalCli(): string;
