// A typed stockwatch client: the types come from the server's /openapi.json
// (`npm run types`), the calls go through openapi-fetch.
//
// The rule that makes retries safe: a logical call (one purchase, one hold, one confirm)
// gets ONE Idempotency-Key, made before the first try and sent again on every retry of
// that call. A reply lost to a timeout or a dropped connection then never becomes a
// second sale: the server answers the retry with the first answer, byte for byte.
import createClient from "openapi-fetch";
import { randomUUID } from "node:crypto";
import type { paths } from "./schema.js";

export type Stockwatch = ReturnType<typeof createClient<paths>>;

/** A client for `baseUrl`, with `Authorization: Bearer <credential>` when one is given. */
export function connect(baseUrl: string, credential?: string): Stockwatch {
  const headers: Record<string, string> = credential ? { Authorization: `Bearer ${credential}` } : {};
  return createClient<paths>({ baseUrl, headers });
}

/** What one try answered: openapi-fetch's result (typed per operation). */
type Tried = { response: Response; error?: unknown };

/**
 * Runs one logical call, retrying within `deadlineMs`: on 503 (contention or Redis
 * unavailable), honouring `Retry-After`, and on network errors, with backoff and jitter.
 * `attempt` receives the call's one Idempotency-Key and must send it on every try.
 * Anything else (2xx, 4xx) is the answer and is returned as it is.
 */
export async function once<T extends Tried>(
  attempt: (idempotencyKey: string) => Promise<T>,
  deadlineMs = 10_000,
): Promise<T> {
  const key = randomUUID();
  const deadline = Date.now() + deadlineMs;
  for (let tries = 1; ; tries++) {
    let waitMs: number;
    try {
      const result = await attempt(key);
      if (result.response.status !== 503) return result;
      const retryAfter = Number(result.response.headers.get("Retry-After"));
      waitMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoff(tries);
      if (Date.now() + waitMs > deadline) return result;
    } catch (network) {
      // No answer at all: the call may or may not have happened. The same key makes the
      // retry safe either way.
      waitMs = backoff(tries);
      if (Date.now() + waitMs > deadline) throw network;
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/** Full jitter: a random wait up to 50 ms × 2^tries, capped at 2 s. */
function backoff(tries: number): number {
  return Math.random() * Math.min(2000, 50 * 2 ** tries);
}
