/** Per-request values the middlewares put on the Hono context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set by whoever already put x-request-id into the response's own headers (fast path). */
    requestIdSent?: boolean;
    /** Tokens left in the caller's rate-limit bucket (sent as RateLimit-Remaining). */
    rateLimitRemaining?: number;
    /** Name of the API key that authenticated the request, when keys are in use. */
    apiKey?: string;
  };
}
