import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where the Hub is and how to reach it, from the environment variables Python's
 * huggingface_hub reads, so both share one cache and one configuration:
 * HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_CACHE / HF_HOME, and the two timeouts.
 */
export interface HubSettings {
  endpoint: string;
  token: string | undefined;
  offline: boolean;
  cacheDir: string;
  /** Seconds to wait for a response's headers (Python's HF_HUB_ETAG_TIMEOUT, default 10). */
  metadataTimeoutSeconds: number;
  /** Seconds a download may go without a byte before it is abandoned (Python's HF_HUB_DOWNLOAD_TIMEOUT, default 10). */
  downloadTimeoutSeconds: number;
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}

function seconds(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
}

/** The cache folder as huggingface_hub computes it: HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
  return join(home, "hub");
}

export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  return {
    endpoint: (env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, ""),
    // HUGGING_FACE_HUB_TOKEN is the older name Python still reads.
    token: env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
    offline: truthy(env.HF_HUB_OFFLINE),
    cacheDir: hubCacheDir(env),
    metadataTimeoutSeconds: seconds(env.HF_HUB_ETAG_TIMEOUT, 10),
    downloadTimeoutSeconds: seconds(env.HF_HUB_DOWNLOAD_TIMEOUT, 10),
  };
}
