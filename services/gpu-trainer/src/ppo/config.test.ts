import { describe, expect, it } from "vitest";
import { PpoConfigSchema } from "./config.ts";

describe("PPO config", () => {
  it("has trl's defaults where trl has them", () => {
    const c = PpoConfigSchema.parse({});
    expect([c.gamma, c.lambda, c.clipRange, c.clipRangeValue, c.vfCoef, c.initKlCoef, c.targetKl, c.horizon, c.ppoEpochs]).toEqual([
      1, 0.95, 0.2, 0.2, 0.1, 0.2, 6, 10000, 4,
    ]);
  });

  it("refuses a batch that is not a multiple of the minibatch, saying so", () => {
    const r = PpoConfigSchema.safeParse({ batchSize: 30, miniBatchSize: 8 });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toBe("batchSize (30) must be a multiple of miniBatchSize (8)");
  });

  it("refuses unknown keys (a typo is not silently ignored)", () => {
    expect(PpoConfigSchema.safeParse({ ppo_epochs: 4 }).success).toBe(false);
  });
});
