/**
 * The words the review generator draws from, written for this project. Each domain has
 * openings (a stem and continuations for each polarity — the seed's four prompts are
 * among the stems, so a model pretrained on the corpus continues them both ways),
 * aspects with their own praise and complaints, and verdicts that close a review.
 */

export const DOMAINS = ["product", "film", "hotel", "food"] as const;
export type Domain = (typeof DOMAINS)[number];

export interface Opening {
  stem: string;
  positive: string[];
  negative: string[];
}

export interface Aspect {
  name: string;
  positive: string[];
  negative: string[];
}

/** Openings that fit every domain. */
const SHARED_OPENINGS: Opening[] = [
  {
    stem: "说实话，真的很",
    positive: ["满意", "喜欢", "不错", "惊喜", "值", "棒", "开心"],
    negative: ["失望", "后悔", "一般", "糟心", "生气", "无语", "差劲"],
  },
  { stem: "总的来说，", positive: ["体验很好", "非常满意", "值得推荐", "挺开心的"], negative: ["体验很差", "非常失望", "不值这个价", "让人窝火"] },
  { stem: "第一次写评价，", positive: ["必须好评", "真心推荐", "实在太满意了"], negative: ["必须差评", "实在忍不了", "真的太失望了"] },
];

export const OPENINGS: Record<Domain, Opening[]> = {
  product: [
    { stem: "刚收到货，感觉有", positive: ["质感", "档次", "惊喜", "点小激动", "品位"], negative: ["点失望", "些廉价", "点后悔", "股怪味", "点上当"] },
    { stem: "这次购物总的来说体验很", positive: ["好", "愉快", "棒", "顺心", "满意"], negative: ["差", "糟糕", "失望", "不愉快", "闹心"] },
    { stem: "东西收到了，整体", positive: ["很满意", "超出预期", "和描述一致", "挺好的"], negative: ["很一般", "不太满意", "和描述不符", "挺差的"] },
    ...SHARED_OPENINGS,
  ],
  film: [
    { stem: "这部电影很", positive: ["好看", "精彩", "感人", "震撼", "有深度", "过瘾"], negative: ["无聊", "难看", "失望", "拖沓", "烂", "尴尬"] },
    { stem: "看完这部片子，觉得", positive: ["很值", "意犹未尽", "热血沸腾", "心里暖暖的"], negative: ["浪费时间", "昏昏欲睡", "莫名其妙", "想退票"] },
    ...SHARED_OPENINGS,
  ],
  hotel: [
    { stem: "这家酒店很", positive: ["舒适", "干净", "温馨", "安静", "方便"], negative: ["陈旧", "吵", "脏", "潮湿", "难找"] },
    { stem: "这次入住，感觉", positive: ["宾至如归", "物超所值", "很放松"], negative: ["很糟心", "不值这个价", "很压抑"] },
    ...SHARED_OPENINGS,
  ],
  food: [
    { stem: "这家店的外卖很", positive: ["好吃", "实惠", "地道", "新鲜", "香"], negative: ["难吃", "贵", "咸", "不新鲜", "油腻"] },
    { stem: "点了几次了，这次", positive: ["依然好吃", "又没失望", "比上次还好"], negative: ["特别难吃", "让人失望", "比上次差多了"] },
    ...SHARED_OPENINGS,
  ],
};

export const ASPECTS: Record<Domain, Aspect[]> = {
  product: [
    { name: "物流", positive: ["很快", "第二天就到了", "神速"], negative: ["太慢了", "拖了一个星期", "一直不更新"] },
    { name: "包装", positive: ["很严实", "精美", "完好无损"], negative: ["破损了", "很简陋", "被压扁了"] },
    { name: "质量", positive: ["很好", "过硬", "没得挑"], negative: ["很差", "一般般", "有瑕疵"] },
    { name: "做工", positive: ["精致", "细腻", "很扎实"], negative: ["粗糙", "有毛刺", "很敷衍"] },
    { name: "客服", positive: ["很耐心", "回复及时", "态度很好"], negative: ["爱理不理", "态度恶劣", "一直不回复"] },
    { name: "价格", positive: ["实惠", "很划算", "性价比高"], negative: ["偏贵", "不划算", "性价比低"] },
    { name: "颜色", positive: ["很正", "和图片一样", "好看"], negative: ["有色差", "很暗", "和图片不一样"] },
    { name: "尺码", positive: ["标准", "刚刚好", "很合身"], negative: ["偏小", "不标准", "根本穿不上"] },
    { name: "电池", positive: ["很耐用", "续航很长", "充电很快"], negative: ["不耐用", "掉电很快", "充不进电"] },
    { name: "屏幕", positive: ["清晰", "很亮", "色彩鲜艳"], negative: ["有坏点", "发黄", "很模糊"] },
  ],
  film: [
    { name: "剧情", positive: ["紧凑", "环环相扣", "引人入胜"], negative: ["拖沓", "漏洞百出", "老套"] },
    { name: "演员的表演", positive: ["很自然", "很到位", "让人信服"], negative: ["很尴尬", "很浮夸", "面无表情"] },
    { name: "画面", positive: ["很美", "很精致", "很有质感"], negative: ["很粗糙", "很昏暗", "很廉价"] },
    { name: "配乐", positive: ["动听", "恰到好处", "很有感染力"], negative: ["很吵", "很突兀", "很难听"] },
    { name: "节奏", positive: ["把握得很好", "张弛有度", "很流畅"], negative: ["太慢", "很混乱", "让人犯困"] },
    { name: "结局", positive: ["很感人", "出人意料", "很圆满"], negative: ["很仓促", "很烂尾", "莫名其妙"] },
    { name: "特效", positive: ["很震撼", "以假乱真", "很用心"], negative: ["很五毛", "很假", "很敷衍"] },
    { name: "台词", positive: ["很有味道", "很走心", "很精彩"], negative: ["很生硬", "很做作", "很无聊"] },
  ],
  hotel: [
    { name: "服务", positive: ["很周到", "很热情", "很贴心"], negative: ["很冷淡", "很敷衍", "很差"] },
    { name: "房间", positive: ["干净整洁", "宽敞明亮", "很舒服"], negative: ["又小又脏", "有霉味", "很压抑"] },
    { name: "前台", positive: ["办理很快", "很有礼貌", "很专业"], negative: ["效率很低", "很不耐烦", "态度很差"] },
    { name: "早餐", positive: ["很丰盛", "种类很多", "很可口"], negative: ["很单调", "很难吃", "凉了"] },
    { name: "位置", positive: ["很方便", "离地铁很近", "闹中取静"], negative: ["很偏", "很难找", "打车都不方便"] },
    { name: "卫生", positive: ["很到位", "一尘不染", "让人放心"], negative: ["很堪忧", "很脏", "让人恶心"] },
    { name: "隔音", positive: ["很好", "很安静", "一夜好眠"], negative: ["很差", "吵得睡不着", "形同虚设"] },
  ],
  food: [
    { name: "味道", positive: ["很正宗", "很香", "恰到好处"], negative: ["很奇怪", "太咸了", "寡淡无味"] },
    { name: "分量", positive: ["很足", "两个人都吃不完", "很实在"], negative: ["太少了", "缩水了", "不够塞牙缝"] },
    { name: "送餐", positive: ["很准时", "很快", "还是热的"], negative: ["太慢了", "迟到一小时", "都凉了"] },
    { name: "菜品", positive: ["很新鲜", "很精致", "用料很足"], negative: ["不新鲜", "有头发", "用料很差"] },
    { name: "价格", positive: ["实惠", "很公道", "物美价廉"], negative: ["偏贵", "不值", "贵得离谱"] },
  ],
};

export const VERDICTS = {
  /** A clearly positive close. */
  strongPositive: ["强烈推荐！", "五星好评！", "下次还会再来！", "会回购的！", "值得一看！", "太满意了！", "必须推荐给朋友！"],
  /** A positive close with a reservation. */
  mildPositive: ["总体还行，可以考虑。", "瑕不掩瑜，还算满意。", "整体不错，小问题可以接受。", "还可以吧，推荐一下。"],
  /** A negative close with a concession. */
  mildNegative: ["总体一般，不太推荐。", "有点失望，再看看吧。", "不怎么样，凑合吧。", "马马虎虎，不会再来了。"],
  /** A clearly negative close. */
  strongNegative: ["强烈不推荐！", "差评！", "再也不会买了！", "大家别上当！", "浪费钱！", "太失望了！", "千万别来！"],
} as const;

export const INTENSIFIERS = ["", "", "真的", "确实", "实在是"];
export const JOINERS = ["，", "，而且", "，另外", "；"];
export const CONTRASTS = ["，但是", "，不过", "，可惜"];
