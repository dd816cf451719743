import { describe, expect, it } from "vitest";
import { mapLimit } from "./map-limit.ts";

describe("mapLimit", () => {
  it("keeps the order and never has more than `limit` calls in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (x) => {
      inFlight++;
      most = Math.max(most, inFlight);
      for (let i = 0; i < x; i++) await Promise.resolve();
      inFlight--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0, 60]);
    expect(most).toBe(3);
    expect(await mapLimit([], 4, async (x) => x)).toEqual([]);
  });
});
