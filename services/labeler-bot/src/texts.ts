/** Everything the bot says, in Chinese and English. */
export const TEXT = {
  welcome: [
    "欢迎来到 ranklab！你的判断会让语言模型写得更好。",
    "Welcome to ranklab! Your judgement teaches a language model to write better.",
    "",
    "两种任务 Two kinds of task:",
    "• 打分 Score: 读一条续写，给 1–5 分（5 最好），或跳过。Read one continuation and give it 1–5 (5 is best), or skip.",
    "• 排序 Rank: 同一提示的 4 条续写，依次点出剩下的里最好的一条，直到排完；一样好就点「= X」；可以撤销。For one prompt's 4 continuations, tap the best of those left until all are in order; tap “= X” when X is as good as the one before; Undo steps back.",
    "",
    "/stats 你的统计 your counts · /help 帮助 help",
  ].join("\n"),
  help: "用 /start 开始标注，/stats 看你的统计。Use /start to label and /stats for your counts. 管理员 Admins: /export, /block <id>, /unblock <id>",
  notAllowed: "抱歉，这个机器人只对受邀的标注员开放。请使用邀请链接。Sorry, this bot is for invited raters only; please use your invite link.",
  blocked: "你的账号已停用。Your account is disabled.",
  unavailable: "服务暂时不可用，请稍后再试，你的进度不会丢失。The service is unavailable; please try again in a moment. Nothing you did is lost.",
  stale: "这个任务已经完成或已过期。This task is already done or has expired.",
  noTasks: "目前没有新任务了，谢谢！稍后再来看看。No tasks right now, thank you! Check back later.",
  saved: "已保存 Saved",
  skipped: "已跳过 Skipped",
  adminOnly: "只有管理员可以导出。Only admins may export.",
  exportEmpty: "还没有排序数据。No rank lists yet.",
  blockAdminOnly: "只有管理员可以停用或恢复标注员。Only admins may block or unblock raters.",
  cannotBlockSelf: "管理员不能停用自己，请找另一位管理员。An admin cannot block themselves; ask another admin.",
  blockHelp: "/block <id> 停用 block · /unblock <id> 恢复 unblock",
  noReliability: "还没有奖励模型的可靠性估计。No reliability estimates yet (no live reward model has any).",
  blockUsage: (command: string) => `用法 Usage: /${command} <标注员编号 rater id>, e.g. /${command} 12 (ids are in /stats)`,
  noSuchRater: (id: number) => `没有编号为 ${id} 的标注员。There is no rater ${id}.`,
  blockedOk: (id: number, name: string | null) =>
    `已停用标注员 #${id}${name ? ` ${name}` : ""}：其标注将被拒绝。Rater #${id} is blocked: their labels are refused from now on.`,
  unblockedOk: (id: number, name: string | null) => `已恢复标注员 #${id}${name ? ` ${name}` : ""}。Rater #${id} is unblocked.`,
} as const;

export const LETTERS = ["A", "B", "C", "D", "E", "F", "G", "H"];
