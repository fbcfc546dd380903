export declare const TEMPORAL_CLI_VERSION: string;
export declare function ensureTemporalCli(): string;
export declare const TIME_SKIPPING_SERVER_VERSION: string;
export declare function ensureTimeSkippingServer(): string;
