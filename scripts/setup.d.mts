export declare const TEMPORAL_CLI_VERSION: string;
export declare function ensureTemporalCli(): string;
export declare const TIME_SKIPPING_SERVER_VERSION: string;
export declare function ensureTimeSkippingServer(): string;
export declare const NODE_24_VERSION: string;
export declare function ensureNode24(): string;
