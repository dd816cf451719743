import { z } from "zod";

/** What trains and runs a model (docs/glossary.md, "engine"): onnxruntime, the default, or tfjs, the readable reference. */
export const ENGINES = ["onnx", "tfjs"] as const;
export type EngineName = (typeof ENGINES)[number];
/** A config's `engine` field, onnxruntime unless it says otherwise. */
export const engineField = () => z.enum(ENGINES).default("onnx");
