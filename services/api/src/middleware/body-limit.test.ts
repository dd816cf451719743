import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectError, expectNothingStored, uniqueText } from "../../test/helpers.ts";
import { TEST_TOKENS } from "../../test/tokens.ts";
import { MAX_JSON_BYTES } from "../app.ts";

/** `text` sent chunked (a stream, no Content-Length), 64 KiB at a time. */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.subarray(at, at + 64 * 1024));
      at += 64 * 1024;
    },
  });
}

const post = (body: ReadableStream<Uint8Array>) =>
  SELF.fetch("https://api.test/v1/prompts", {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_TOKENS.admin}`, "content-type": "application/json" },
    body,
  });

describe("the JSON body limit", () => {
  it("refuses a chunked body past the limit with 413, reads it to the end, and the Worker answers the next request", async () => {
    await expectNothingStored(async () => {
      await expectError(await post(chunked(JSON.stringify({ prompts: [{ text: "x".repeat(MAX_JSON_BYTES + 1) }] }))), 413, "payload_too_large");
    });
    const text = uniqueText("分块上传");
    const res = await post(chunked(JSON.stringify({ prompts: [{ text }] })));
    expect(res.status).toBe(201);
    expect(((await res.json()) as { prompts: { text: string }[] }).prompts[0]!.text).toBe(text);
  });
});
