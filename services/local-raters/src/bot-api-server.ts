import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import TelegramServerModule from "telegram-test-api";

// The package is CommonJS with a default export.
const TelegramServer = ((TelegramServerModule as unknown as { default?: unknown }).default ??
  TelegramServerModule) as typeof import("telegram-test-api").default;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface CallbackAnswer {
  callbackQueryId: string;
  text?: string;
}

export interface LocalBotApi {
  /** What TELEGRAM_API_ROOT should be for the bot. */
  apiRoot: string;
  server: InstanceType<typeof TelegramServer>;
  /** Toasts the bot showed (answerCallbackQuery), which the emulator itself does not keep. */
  callbackAnswers: CallbackAnswer[];
  stop(): Promise<void>;
}

/**
 * A Bot API server on 127.0.0.1 for local runs and tests: the `telegram-test-api`
 * emulator, behind a small recording proxy that keeps the bot's answerCallbackQuery
 * texts (Telegram shows them as toasts; the emulator drops them).
 */
export async function startLocalBotApi(): Promise<LocalBotApi> {
  // The emulator cannot take port 0 (it falls back to 9000), so find a free one first.
  const emulatorPort = await freePort();
  const server = new TelegramServer({ port: emulatorPort, host: "127.0.0.1", storeTimeout: 600 });
  await server.start();
  const callbackAnswers: CallbackAnswer[] = [];
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.url?.endsWith("/answerCallbackQuery")) {
        try {
          const parsed = JSON.parse(body.toString("utf8")) as { callback_query_id: string; text?: string };
          callbackAnswers.push({ callbackQueryId: String(parsed.callback_query_id), ...(parsed.text ? { text: parsed.text } : {}) });
        } catch {
          // Not JSON: pass it on untouched.
        }
      }
      const polling = req.url?.endsWith("/getUpdates") ?? false;
      const upstream = request(
        { host: "127.0.0.1", port: emulatorPort, path: req.url, method: req.method, headers: { ...req.headers, "content-length": String(body.length) } },
        (up) => {
          if (!polling) {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
            return;
          }
          // The emulator answers getUpdates at once, even when empty; Telegram holds the
          // request (long polling). Holding empty answers a moment keeps the bot from spinning.
          const parts: Buffer[] = [];
          up.on("data", (c: Buffer) => parts.push(c));
          up.on("end", () => {
            const text = Buffer.concat(parts);
            const empty = /"result":\[\]/.test(text.toString("utf8"));
            setTimeout(
              () => {
                res.writeHead(up.statusCode ?? 502, { ...up.headers, "content-length": String(text.length) });
                res.end(text);
              },
              empty ? 250 : 0,
            );
          });
        },
      );
      upstream.on("error", (err) => {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: false, description: err.message }));
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const apiRoot = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    apiRoot,
    server,
    callbackAnswers,
    async stop() {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await server.stop();
    },
  };
}
