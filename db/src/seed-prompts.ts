/**
 * The prompt pool a fresh install starts with: the seed tutorial's four prompts and
 * more of the same kind (openings of Chinese product, film and service reviews that a
 * policy can continue either way).
 */
export const SEED_PROMPTS: readonly string[] = [
  "刚收到货，感觉有",
  "这部电影很",
  "说实话，真的很",
  "这次购物总的来说体验很",
  "用了一个星期，感觉",
  "快递送到的时候，包装",
  "这家酒店的服务",
  "这本书读完以后，我觉得",
  "味道嘛，说实话",
  "客服的态度",
  "和图片上比起来，实物",
  "价格不算便宜，但是",
];
